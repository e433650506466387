//! The Python package (python/) through its own tests: builds it with pip
//! (maturin, a dev build in this target directory, so the Rust crates
//! already compiled for these tests are reused where their features agree)
//! into a virtualenv kept under the target directory, then runs pytest on
//! python/tests with the CLI binary this run built, and asserts they passed.
//!
//! What it needs it installs: the virtualenv's packages from PyPI (pytest,
//! numpy, Pillow, and pyspark, pandas and pyarrow for the Spark test), and a
//! Java runtime from Debian's packages (apt-get) when `java` is missing.
//! `NEARDUP_PYTHON` names the interpreter (default `python3`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Packages the tests import, besides the package itself.
const TEST_PACKAGES: &[&str] = &[
    "maturin>=1.5,<2",
    "pytest",
    "numpy",
    "pillow",
    "pyspark>=3.4",
    "pandas<3",
    "pyarrow",
];

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The target directory of this build (CARGO_TARGET_TMPDIR is its `tmp`).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// A virtualenv under the target directory with the test packages, made
/// once and reused (a marker file records that the install finished).
fn venv(target: &Path) -> PathBuf {
    let dir = target.join("python-venv");
    let python = dir.join("bin").join("python");
    let marker = dir.join("neardup-test-packages");
    let wanted = TEST_PACKAGES.join("\n");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return python;
    }
    let interpreter = std::env::var("NEARDUP_PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&interpreter)
            .args(["-m", "venv", "--clear"])
            .arg(&dir),
        "creating the virtualenv",
    );
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--upgrade", "pip"])
            .args(TEST_PACKAGES),
        "installing the test packages",
    );
    std::fs::write(&marker, wanted).expect("cannot write the virtualenv marker");
    python
}

/// Installs a Java runtime for pyspark when there is none.
fn ensure_java() {
    if Command::new("java").arg("-version").output().is_ok() {
        return;
    }
    let sudo = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() != "0")
        .unwrap_or(true);
    let apt = |args: &[&str]| {
        let mut c = if sudo {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        } else {
            Command::new("apt-get")
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update", "-qq"]), "apt-get update");
    run(
        &mut apt(&["install", "-y", "-qq", "default-jre-headless"]),
        "installing a Java runtime (default-jre-headless)",
    );
}

/// PATH with `dir` first.
fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap_or_default()
}

#[test]
fn python_package_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir();
    let python = venv(&target);
    ensure_java();
    // A dev build (the test profile's optimisation for dependencies) into
    // this target directory; no build isolation: maturin is in the venv.
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-build-isolation",
                "--no-deps",
                "--force-reinstall",
            ])
            .arg(root.join("python"))
            .env("CARGO_TARGET_DIR", &target)
            // maturin's build hook runs the `maturin` of the venv by name.
            .env("PATH", path_with(python.parent().unwrap_or(&target)))
            .env("MATURIN_PEP517_ARGS", "--profile dev"),
        "pip install ./python",
    );
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("python").join("tests"))
        .env("NEARDUP_BIN", env!("CARGO_BIN_EXE_neardup"))
        .current_dir(&target)
        .output()
        .expect("cannot run pytest");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(out.status.success(), "pytest failed:\n{report}");
    assert!(
        report.contains(" passed") && !report.contains(" skipped"),
        "pytest ran no tests, or skipped some:\n{report}"
    );
}
