//! The HTML report in a real browser: a tiny live run's `report.html` is
//! loaded by headless Chromium, which must log no console errors, and a
//! probe script appended to a copy of the page reports each plot's laid-out
//! size and how many marks (paths, lines, rects, circles) it drew.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it). Without it the test
//! prints one skip line, unless `FEEDLAB_REQUIRE_BROWSER=1`, when it fails.

mod common;

use std::path::Path;
use std::process::Command;

use common::{run, spec};
use serde_json::Value;

/// The six plots of a single-variant report.
const PLOTS: usize = 6;

/// Appended to a copy of the report: logs one JSON line with every SVG's
/// rendered width, height and mark count.
const PROBE: &str = r#"<script>
window.addEventListener("load", () => {
  const plots = [...document.querySelectorAll("svg")].map(s => {
    const r = s.getBoundingClientRect();
    return { w: r.width, h: r.height,
             marks: s.querySelectorAll("path, polyline, line, rect, circle").length };
  });
  console.log("FEEDLAB_PLOTS " + JSON.stringify(plots));
});
</script>"#;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
}

/// Load `page` headless; returns Chromium's log (console lines included).
fn load(browser: &str, page: &Path, profile: &Path) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1400,1000",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("start chromium");
    assert!(out.status.success(), "chromium failed: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn report_html_renders_every_plot_without_console_errors() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("FEEDLAB_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "FEEDLAB_REQUIRE_BROWSER=1 but no chromium on PATH"
        );
        // Straight to stderr: libtest captures print! of a passing test, and
        // a skip must be seen.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"browser test skipped: chromium not installed (apt-get install chromium)\n",
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    run(dir.path(), &spec("push", "push", "direct"));
    common::schema::assert_valid_outputs(dir.path());
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");

    // The page as written: no console message at all (no scripts, no fetches).
    let plain = load(
        browser,
        &dir.path().join("report.html"),
        &dir.path().join("p1"),
    );
    let console: Vec<&str> = plain.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console output: {console:#?}");

    // A copy with the probe: every plot laid out at a visible size, with marks.
    let probed = dir.path().join("probed.html");
    let body_end = html.rfind("</body>").expect("report has </body>");
    std::fs::write(
        &probed,
        format!("{}{PROBE}{}", &html[..body_end], &html[body_end..]),
    )
    .expect("write probed copy");
    let log = load(browser, &probed, &dir.path().join("p2"));
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && !l.contains("FEEDLAB_PLOTS"))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let line = log
        .lines()
        .find(|l| l.contains("FEEDLAB_PLOTS"))
        .unwrap_or_else(|| panic!("probe did not report; chromium log:\n{log}"));
    let json = line
        .split("FEEDLAB_PLOTS ")
        .nth(1)
        .and_then(|s| s.rsplit_once('"').map(|(j, _)| j))
        .expect("probe line");
    let plots: Vec<Value> = serde_json::from_str(json).expect("probe JSON");
    assert_eq!(plots.len(), PLOTS, "plots: {plots:?}");
    for (i, p) in plots.iter().enumerate() {
        let w = p["w"].as_f64().unwrap_or(0.0);
        let h = p["h"].as_f64().unwrap_or(0.0);
        let marks = p["marks"].as_u64().unwrap_or(0);
        assert!(w >= 300.0 && h >= 200.0, "plot {i} is {w}x{h}");
        assert!(marks >= 10, "plot {i} drew only {marks} marks");
    }
}
