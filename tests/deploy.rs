//! The deployment files of `assets/deploy/`: the systemd unit passes `systemd-analyze verify` and
//! stays hardened (`systemd-analyze security` exposure at most 2.0 of 10). Needs systemd-analyze
//! (scripts/setup-deploy.sh); no running systemd.

use std::process::Command;

use tandem_e2e::{repo_root, require_or_skip, server_binary};

const TEST: &str = "the_systemd_unit_verifies_and_stays_hardened";

#[test]
fn the_systemd_unit_verifies_and_stays_hardened() {
    if !Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success())
    {
        require_or_skip(TEST, "systemd-analyze is not installed (scripts/setup-deploy.sh)");
        return;
    }
    let unit =
        std::fs::read_to_string(repo_root().join("assets/deploy/tandem-server.service")).unwrap();
    // verify checks that ExecStart names an executable: the one just built stands in for the
    // installed one.
    let installed = "/usr/local/bin/tandem-server";
    assert!(unit.contains(&format!("ExecStart={installed} ")), "{unit}");
    let binary = server_binary().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem-server.service");
    std::fs::write(&path, unit.replace(installed, binary.to_str().unwrap())).unwrap();

    let verify = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");

    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    assert!(security.status.success(), "exposure above 2.0:\n{report}");
}
