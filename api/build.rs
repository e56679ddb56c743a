//! Build script for the `api` crate: fetches GraphiQL's browser assets from npm.
//!
//! `graphiql/package.json` + `graphiql/package-lock.json` pin GraphiQL, React and
//! ReactDOM. This script installs exactly that lock with `npm ci` inside `$OUT_DIR/graphiql`
//! and copies the four UMD/CSS files the page needs to `$OUT_DIR/graphiql-assets/`, where
//! `src/graphiql.rs` embeds them with `include_bytes!`. The install is skipped when
//! `$OUT_DIR/graphiql/node_modules` already holds an install of the same manifest and lock.
//!
//! Only std is used, so the script adds no build-dependencies.

use std::env;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files served by the GraphiQL page: (path inside `node_modules`, embedded file name).
const ASSETS: [(&str, &str); 4] = [
    ("graphiql/graphiql.min.js", "graphiql.min.js"),
    ("graphiql/graphiql.min.css", "graphiql.min.css"),
    ("react/umd/react.production.min.js", "react.production.min.js"),
    (
        "react-dom/umd/react-dom.production.min.js",
        "react-dom.production.min.js",
    ),
];

/// Name of the file (in `$OUT_DIR/graphiql`) recording which manifest + lock were installed.
const STAMP: &str = ".reach-installed-lock";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=graphiql/package.json");
    println!("cargo:rerun-if-changed=graphiql/package-lock.json");
    println!("cargo:rerun-if-env-changed=NPM");

    if let Err(message) = run() {
        panic!("\n\nbuilding GraphiQL's browser assets failed: {message}\n\n");
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let out_dir = env_path("OUT_DIR")?;
    let source = manifest_dir.join("graphiql");
    let work = out_dir.join("graphiql");
    let assets = out_dir.join("graphiql-assets");

    let package_json = read(&source.join("package.json"))?;
    let package_lock = read(&source.join("package-lock.json"))?;

    // What an install is keyed on: the exact bytes of the manifest and the lock.
    let mut stamp = Vec::with_capacity(package_json.len() + package_lock.len() + 1);
    stamp.extend_from_slice(&package_json);
    stamp.push(0);
    stamp.extend_from_slice(&package_lock);

    let installed =
        work.join("node_modules").is_dir() && fs::read(work.join(STAMP)).is_ok_and(|previous| previous == stamp);
    if !installed {
        fs::create_dir_all(&work).map_err(|e| io_error("create", &work, &e))?;
        // A stale stamp must not survive a failed or interrupted install.
        remove_if_present(&work.join(STAMP))?;
        write(&work.join("package.json"), &package_json)?;
        write(&work.join("package-lock.json"), &package_lock)?;
        npm_ci(&work)?;
    }

    fs::create_dir_all(&assets).map_err(|e| io_error("create", &assets, &e))?;
    for (from, to) in ASSETS {
        let from = work.join("node_modules").join(from);
        let to = assets.join(to);
        let bytes = read(&from)?;
        if fs::read(&to).ok().as_deref() != Some(bytes.as_slice()) {
            write(&to, &bytes)?;
        }
    }

    if !installed {
        write(&work.join(STAMP), &stamp)?;
    }

    // Lets the page version its asset URLs, so they can be cached as immutable.
    println!("cargo:rustc-env=REACH_GRAPHIQL_ASSETS_VERSION={:016x}", fnv1a64(&stamp));
    Ok(())
}

/// Runs `npm ci` in `dir`, turning a missing npm or a failed install into a clear message.
fn npm_ci(dir: &Path) -> Result<(), String> {
    let npm = env::var_os("NPM").unwrap_or_else(|| if cfg!(windows) { "npm.cmd" } else { "npm" }.into());
    let output = Command::new(&npm)
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"])
        .current_dir(dir)
        .output();
    let hint = "Node.js and npm are needed to build GraphiQL's assets (npm comes with \
                Node.js 20; on Debian/Ubuntu: `apt-get install nodejs npm`; set NPM=/path/to/npm \
                to use a specific npm)";
    match output {
        Err(e) => Err(format!("could not run `{}`: {e}.\n{hint}", npm.to_string_lossy())),
        Ok(output) if !output.status.success() => Err(format!(
            "`{} ci` in {} exited with {}.\n{hint}; npm also needs to reach its registry (or have \
             the packages in its cache).\n--- npm stdout ---\n{}\n--- npm stderr ---\n{}",
            npm.to_string_lossy(),
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout).trim_end(),
            String::from_utf8_lossy(&output.stderr).trim_end(),
        )),
        Ok(_) => Ok(()),
    }
}

fn env_path(name: &str) -> Result<PathBuf, String> {
    env::var_os(name)
        .map(PathBuf::from)
        .ok_or_else(|| format!("environment variable {name} is not set (is cargo running this?)"))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| io_error("read", path, &e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::write(path, bytes).map_err(|e| io_error("write", path, &e))
}

fn remove_if_present(path: &Path) -> Result<(), String> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", path, &e)),
        _ => Ok(()),
    }
}

fn io_error(action: &str, path: &Path, error: &io::Error) -> String {
    format!("cannot {action} {}: {error}", path.display())
}

/// 64-bit FNV-1a: a stable fingerprint (not a security measure) of the installed lock.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
