//! The set-up of the crash test before its first kill: the seven users with
//! their fixed follows, and the leader's fixed set of photos.

use anyhow::Context;
use rand_chacha::ChaCha8Rng;

use super::{Server, User, body};

/// Registers users `c0`..`c6`, then makes users 1 and 2 follow user 0 and
/// user 0 follow user 1, asserting that each follow is answered 200.
pub async fn register(http: &reqwest::Client, s: &Server) -> anyhow::Result<Vec<User>> {
    let mut users = Vec::new();
    for i in 0..7 {
        let v: serde_json::Value = http
            .post(format!("{}/v1/users", s.write))
            .json(&serde_json::json!({"name": format!("c{i}"), "email": format!("c{i}@x.test")}))
            .send()
            .await?
            .json()
            .await?;
        users.push(User {
            id: v["id"].as_u64().context("id")?,
            token: v["token"].as_str().context("token")?.to_owned(),
        });
    }
    // users 1 and 2 follow user 0; user 0 follows user 1.
    for (a, b) in [(1, 0), (2, 0), (0, 1)] {
        let r = http
            .put(format!(
                "{}/v1/users/{}/following/{}",
                s.write, users[a].id, users[b].id
            ))
            .bearer_auth(&users[a].token)
            .send()
            .await?;
        assert_eq!(r.status(), 200);
    }
    Ok(users)
}

/// Uploads the leader's fixed set of five photos; returns their ids.
pub async fn leader_photos(
    http: &reqwest::Client,
    s: &Server,
    leader: &User,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Vec<u64>> {
    let mut photos = Vec::new();
    for i in 0..5 {
        let v: serde_json::Value = http
            .post(format!("{}/v1/photos?title=leader%20{i}", s.write))
            .bearer_auth(&leader.token)
            .header("content-type", "image/png")
            .body(body(rng))
            .send()
            .await?
            .json()
            .await?;
        photos.push(v["id"].as_str().context("photo id")?.parse::<u64>()?);
    }
    Ok(photos)
}
