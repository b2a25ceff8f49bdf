//! Reads the QR codes on a page the way a phone's camera would: Debian's `chromium` renders
//! the page to an image (headless, at three device pixels per CSS pixel, so each module of a
//! version-40 code is several pixels wide) and ZBar's `zbarimg` (Debian's `zbar-tools`, an
//! independent decoder) finds and decodes every QR code in it. `.ci/run` installs both.

use std::path::Path;
use std::process::Command;

/// Whether both programs are here; outside CI a test may skip the scan and say so.
pub fn available() -> bool {
    Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/zbarimg").exists()
}

/// The text of every QR code on the HTML page `page`, as ZBar decodes it from a rendering.
pub fn scan_page(page: &Path) -> anyhow::Result<Vec<String>> {
    let page = page.canonicalize()?;
    let image = page.with_extension("scan.png");
    let profile = crate::TempDir::new("qr-scan-profile");
    let rendered = Command::new("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=3",
            "--window-size=800,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", image.display()))
        .arg(format!("file://{}", page.display()))
        .output()?;
    anyhow::ensure!(
        rendered.status.success() && image.exists(),
        "chromium did not render {}: {}",
        page.display(),
        String::from_utf8_lossy(&rendered.stderr)
    );
    let decoded = Command::new("/usr/bin/zbarimg")
        .args([
            "--quiet",
            "--raw",
            "-Sdisable",
            "-Sqrcode.enable",
            "-Sbinary",
        ])
        .arg(&image)
        .output()?;
    std::fs::remove_file(&image)?;
    // zbarimg exits 4 when it finds no code: an empty list, for the caller to judge.
    anyhow::ensure!(
        decoded.status.success() || decoded.status.code() == Some(4),
        "zbarimg failed: {}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    Ok(String::from_utf8(decoded.stdout)?
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}
