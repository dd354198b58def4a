//! `readelf -a -W` accepts what `synth` builds: no warning and no error, for a deterministic spread of
//! generated specs over every architecture, hash style and quirk. Skipped (with the reason printed) when
//! readelf is not installed; `ci/test.sh` installs binutils.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::process::Command;
use vdso_lab::synth::strategy;

fn readelf_available() -> bool {
    Command::new("readelf").arg("--version").output().is_ok()
}

#[test]
fn readelf_accepts_synthesized_images() {
    if !readelf_available() {
        vdso_lab::require::skip("readelf", "readelf not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vdso-lab-readelf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut runner = TestRunner::deterministic();
    let strategy = strategy::spec();
    let mut complaints = Vec::new();
    let mut machines = std::collections::BTreeSet::new();
    for i in 0..300 {
        let spec = strategy.new_tree(&mut runner).unwrap().current();
        machines.insert((spec.machine, format!("{:?}", spec.class)));
        let bytes = spec.build().unwrap();
        let path = dir.join(format!("synth-{i}.so"));
        std::fs::write(&path, &bytes).unwrap();
        let out = Command::new("readelf")
            .args(["-a", "-W"])
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !stderr.trim().is_empty() || stdout.contains("Warning") {
            complaints.push(format!(
                "{}: status {}, stderr: {}\nspec: {spec:?}",
                path.display(),
                out.status,
                stderr.trim()
            ));
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
    assert!(
        machines.len() >= 10,
        "the deterministic sample covers only {machines:?}"
    );
    assert!(
        complaints.is_empty(),
        "{} of 300 images drew complaints:\n{}",
        complaints.len(),
        complaints.join("\n")
    );
    let _ = std::fs::remove_dir(&dir);
}
