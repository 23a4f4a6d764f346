//! Requests on the wire: a generated [`Call`] as a reqwest request to the
//! listener it picked, sent (several copies at once for a burst) and
//! buffered as an [`Answer`].

use feedlab_system::http::api::Listener;

use super::Op;
use super::Place;
use super::check::Answer;
use super::generate::Call;

/// The two listeners' base URLs.
pub struct Bases {
    /// The write listener's.
    pub write: String,
    /// The read listener's.
    pub read: String,
}

impl Bases {
    /// The base URL of `l`.
    pub fn of(&self, l: Listener) -> &str {
        match l {
            Listener::Write => &self.write,
            Listener::Read => &self.read,
        }
    }
}

/// Send `call` (several copies at once for a burst) and buffer the answers.
pub async fn send(
    http: &reqwest::Client,
    bases: &Bases,
    op: &Op,
    call: &Call,
) -> Vec<Result<Answer, String>> {
    let copies = if call.burst { 6 } else { 1 };
    let one = || async {
        let res = request(http, bases, op, call)?
            .send()
            .await
            .map_err(|e| chain(&e))?;
        let status = res.status().as_u16();
        let headers = res.headers();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let names = headers.keys().map(|k| k.as_str().to_string()).collect();
        let body = res.bytes().await.map_err(|e| e.to_string())?.to_vec();
        Ok(Answer {
            status,
            content_type,
            headers: names,
            body,
        })
    };
    futures::future::join_all((0..copies).map(|_| one())).await
}

/// `e` with its sources, one after the other.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(&format!(": {s}"));
        cur = s.source();
    }
    out
}

/// The request of `call` to the listener it picked.
fn request(
    http: &reqwest::Client,
    bases: &Bases,
    op: &Op,
    call: &Call,
) -> Result<reqwest::RequestBuilder, String> {
    let listener = op.listeners[call.listener % op.listeners.len()];
    let mut path = op.path.clone();
    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut headers = Vec::new();
    for (p, v) in op.params.iter().zip(&call.values) {
        let Some(v) = v else { continue };
        match p.place {
            Place::Path => path = path.replace(&format!("{{{}}}", p.name), &encode(v)),
            Place::Query => drop(query.append_pair(&p.name, v)),
            Place::Header => headers.push((p.name.clone(), v.clone())),
        }
    }
    if call.unknown_param {
        query.append_pair("unknown", "1");
    }
    let mut query = query.finish();
    if call.bad_utf8 {
        query.push_str(if query.is_empty() { "%FF" } else { "&%FF" });
    }
    let mut url = format!("{}{path}", bases.of(listener));
    if !query.is_empty() {
        url = format!("{url}?{query}");
    }
    let method = reqwest::Method::from_bytes(op.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut rb = http.request(method, url);
    for (name, value) in headers {
        rb = rb.header(name, value);
    }
    if call.many_headers {
        for i in 0..=feedlab_system::http::limits::MAX_HEADERS {
            rb = rb.header(format!("x-filler-{i}"), "1");
        }
    }
    if let Some(auth) = &call.auth {
        rb = rb.header("authorization", auth);
    }
    if let Some(body) = &call.body {
        if let Some(ct) = &body.content_type {
            rb = rb.header("content-type", ct);
        }
        rb = rb.body(body.bytes.clone());
    }
    Ok(rb)
}

/// `s` as one path segment: everything but unreserved ASCII percent-encoded.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}
