//! Build script for the `api` crate: fetches GraphiQL's browser assets from npm, and builds the
//! web console (`console/`, served at `/console`).
//!
//! `graphiql/package.json` + `graphiql/package-lock.json` pin GraphiQL, React and
//! ReactDOM. This script installs exactly that lock with `npm ci` inside `$OUT_DIR/graphiql`
//! and copies the four UMD/CSS files the page needs to `$OUT_DIR/graphiql-assets/`, where
//! `src/graphiql.rs` embeds them with `include_bytes!`. The install is skipped when
//! `$OUT_DIR/graphiql/node_modules` already holds an install of the same manifest and lock.
//!
//! The console (`console/package.json` + `console/package-lock.json`: Preact, graphql-ws, Vite,
//! TypeScript and GraphQL Code Generator) is installed the same way in `$OUT_DIR/console`, its
//! sources and the workspace's `schema.graphql` copied beside the install, then built: the
//! operations are typed from the schema (codegen), type-checked (`tsc`), and bundled (`vite
//! build`) into `$OUT_DIR/console-dist`. A schema change that breaks one of the console's
//! operations fails here. `$OUT_DIR/console_assets.rs` lists the built files for
//! `src/console.rs` to embed.
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
    for path in CONSOLE_SOURCES {
        println!("cargo:rerun-if-changed=console/{path}");
    }
    println!("cargo:rerun-if-changed=../schema.graphql");
    if let Err(message) = console() {
        panic!("\n\nbuilding the web console failed: {message}\n\n");
    }
}

/// The console's sources, relative to `console/` (folders are copied whole).
const CONSOLE_SOURCES: [&str; 7] = [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "codegen.ts",
    "index.html",
    "src",
];

/// Installs the console's locked packages (when the lock changed), copies its sources and the
/// schema beside them, generates the typed operations, type-checks and bundles it, and lists
/// the bundle's files for `include_bytes!`.
fn console() -> Result<(), String> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let out_dir = env_path("OUT_DIR")?;
    let source = manifest_dir.join("console");
    let work = out_dir.join("console");
    let dist = out_dir.join("console-dist");

    install(&source, &work)?;

    // The sources, fresh: a file deleted from `console/src` must not linger in the build.
    let src = work.join("src");
    if src.is_dir() {
        fs::remove_dir_all(&src).map_err(|e| io_error("remove", &src, &e))?;
    }
    for path in CONSOLE_SOURCES.iter().filter(|p| !p.starts_with("package")) {
        copy_tree(&source.join(path), &work.join(path))?;
    }
    let schema = manifest_dir.join("..").join("schema.graphql");

    let bin = |name: &str| work.join("node_modules").join(".bin").join(name);
    run_tool(
        &work,
        &bin("graphql-codegen"),
        &["--config", "codegen.ts"],
        &[("REACH_SCHEMA", &schema)],
    )?;
    run_tool(&work, &bin("tsc"), &["--noEmit", "-p", "."], &[])?;
    run_tool(
        &work,
        &bin("vite"),
        &["build", "--logLevel", "warn"],
        &[("REACH_CONSOLE_OUT", &dist)],
    )?;

    // The bundle's files: `index.html`, and Vite's content-hashed `assets/*`.
    let mut listing = String::from("/// The console's built files: (name under `assets/`, content type, bytes).\n");
    listing.push_str("pub const ASSETS: &[(&str, &str, &[u8])] = &[\n");
    let assets = dist.join("assets");
    let mut names: Vec<String> = fs::read_dir(&assets)
        .map_err(|e| io_error("list", &assets, &e))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        let content_type = match Path::new(&name).extension().and_then(|e| e.to_str()) {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            _ => "application/octet-stream",
        };
        listing.push_str(&format!(
            "    ({name:?}, {content_type:?}, include_bytes!({:?})),\n",
            assets.join(&name)
        ));
    }
    listing.push_str("];\n\n/// The built page.\n");
    listing.push_str(&format!(
        "pub const INDEX: &str = include_str!({:?});\n",
        dist.join("index.html")
    ));
    write_if_changed(&out_dir.join("console_assets.rs"), listing.as_bytes())
}

/// Copies the file or folder `from` to `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    if from.is_dir() {
        fs::create_dir_all(to).map_err(|e| io_error("create", to, &e))?;
        let entries = fs::read_dir(from).map_err(|e| io_error("list", from, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list", from, &e))?;
            let name = entry.file_name();
            // Generated by codegen into the copy; never taken from a developer's tree.
            if name == "gql" {
                continue;
            }
            copy_tree(&entry.path(), &to.join(name))?;
        }
        Ok(())
    } else {
        copy_file(from, to)
    }
}

/// Copies the file `from` to `to`.
fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    write_if_changed(to, &read(from)?)
}

/// Writes `bytes` to `path`, leaving it untouched when it holds them already (so cargo sees no
/// change to embed again).
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if fs::read(path).ok().as_deref() != Some(bytes) {
        write(path, bytes)?;
    }
    Ok(())
}

/// Runs the installed tool `program` in `dir` with `env`, turning a failure into its output.
fn run_tool(dir: &Path, program: &Path, args: &[&str], env: &[(&str, &Path)]) -> Result<(), String> {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    match command.output() {
        Err(e) => Err(format!("could not run `{}`: {e}", program.display())),
        Ok(output) if !output.status.success() => Err(format!(
            "`{} {}` in {} exited with {}.\n--- stdout ---\n{}\n--- stderr ---\n{}",
            program.display(),
            args.join(" "),
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout).trim_end(),
            String::from_utf8_lossy(&output.stderr).trim_end(),
        )),
        Ok(_) => Ok(()),
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let out_dir = env_path("OUT_DIR")?;
    let source = manifest_dir.join("graphiql");
    let work = out_dir.join("graphiql");
    let assets = out_dir.join("graphiql-assets");

    let stamp = install(&source, &work)?;

    fs::create_dir_all(&assets).map_err(|e| io_error("create", &assets, &e))?;
    for (from, to) in ASSETS {
        copy_file(&work.join("node_modules").join(from), &assets.join(to))?;
    }

    // Lets the page version its asset URLs, so they can be cached as immutable.
    println!("cargo:rustc-env=REACH_GRAPHIQL_ASSETS_VERSION={:016x}", fnv1a64(&stamp));
    Ok(())
}

/// Installs the locked packages of `source` (its `package.json` and `package-lock.json`) in
/// `work` with `npm ci`, unless `work` holds an install of the same bytes already; the stamp
/// (manifest and lock) the install is keyed on.
fn install(source: &Path, work: &Path) -> Result<Vec<u8>, String> {
    let package_json = read(&source.join("package.json"))?;
    let package_lock = read(&source.join("package-lock.json"))?;
    let mut stamp = Vec::with_capacity(package_json.len() + package_lock.len() + 1);
    stamp.extend_from_slice(&package_json);
    stamp.push(0);
    stamp.extend_from_slice(&package_lock);
    let installed =
        work.join("node_modules").is_dir() && fs::read(work.join(STAMP)).is_ok_and(|previous| previous == stamp);
    if !installed {
        fs::create_dir_all(work).map_err(|e| io_error("create", work, &e))?;
        // A stale stamp must not survive a failed or interrupted install.
        remove_if_present(&work.join(STAMP))?;
        write(&work.join("package.json"), &package_json)?;
        write(&work.join("package-lock.json"), &package_lock)?;
        npm_ci(work)?;
        write(&work.join(STAMP), &stamp)?;
    }
    Ok(stamp)
}

/// Runs `npm ci` in `dir`, turning a missing npm or a failed install into a clear message.
fn npm_ci(dir: &Path) -> Result<(), String> {
    let npm = env::var_os("NPM").unwrap_or_else(|| if cfg!(windows) { "npm.cmd" } else { "npm" }.into());
    let output = Command::new(&npm)
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"])
        .current_dir(dir)
        .output();
    let hint = "Node.js and npm are needed to build GraphiQL's assets and the console (npm comes with \
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
