//! The built front end under `/pkg/`: the addresses pages give its files, and how long browsers
//! may keep them.
//!
//! `zhunong-sitebuild` (tools/sitebuild) writes the files under plain names (`zhunong.js`,
//! `zhunong.wasm`, `zhunong.css`, the split loader `__wasm_split.js` and the lazily loaded
//! modules it fetches). The pages address them under a directory named by the build:
//! `/pkg/<build>/…`, where `<build>` is a digest of the names and bytes of every file in `/pkg/`
//! as served, found once when the process starts (a deployment restarts it with the new files).
//! The relative imports between the files (script → loader → script, loader → chunks) stay
//! inside that directory, so every module is loaded once, under one address, and a browser
//! never mixes two builds' files. Only what is addressed under the running build's directory is
//! cached for a year; anything else under `/pkg/` (the plain names, another build's directory
//! during a rolling deploy) is revalidated.
//!
//! (Per-file content hashes, as cargo-leptos wrote them, cannot do this with split WebAssembly:
//! cargo-leptos 0.3.11 hashed the script *before* writing the loader's hashed name into it, so
//! two builds could ship different bytes under one "content-hashed" name.)

use leptos::config::LeptosOptions;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// How many hex digits name a build (64 bits of SHA-256).
const BUILD_DIGITS: usize = 16;

/// The split WebAssembly's loader, which the app's script imports.
const SPLIT_LOADER: &str = "__wasm_split.js";

/// The addresses of the built files, found once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assets {
    /// The build's directory name under `/pkg/`, when the site has been built and its files
    /// could be read (not for a plain `cargo build`, as in the tests).
    pub build: Option<String>,
    pub css: String,
    pub js: String,
    pub wasm: String,
    /// The split loader, when the build has one.
    pub split: Option<String>,
}

impl Assets {
    /// Finds the addresses for the site under the options' `site_root`.
    pub fn find(opts: &LeptosOptions) -> Assets {
        let pkg = &opts.site_pkg_dir;
        let name = &opts.output_name;
        let dir = PathBuf::from(opts.site_root.as_ref()).join(pkg.as_ref());
        let js = format!("{name}.js");
        let build = if !dir.join(&js).is_file() {
            None
        } else {
            match build_digest(&dir) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::warn!(
                        "cannot read the built files in {}: {e}; they are served without a year's cache",
                        dir.display()
                    );
                    None
                }
            }
        };
        let at = |f: &str| match &build {
            Some(b) => format!("/{pkg}/{b}/{f}"),
            None => format!("/{pkg}/{f}"),
        };
        Assets {
            css: at(&format!("{name}.css")),
            js: at(&js),
            wasm: at(&format!("{name}.wasm")),
            split: dir.join(SPLIT_LOADER).is_file().then(|| at(SPLIT_LOADER)),
            build,
        }
    }

    /// This process's addresses (the options and the build do not change while it runs).
    pub fn get(opts: &LeptosOptions) -> &'static Assets {
        static ASSETS: OnceLock<Assets> = OnceLock::new();
        ASSETS.get_or_init(|| Assets::find(opts))
    }
}

/// The digest naming a build: SHA-256 over the names and bytes of every file under `dir` (the
/// compressed copies too, which the file handler serves in place of the plain ones), in hex.
/// A few MB, read once at start.
pub fn build_digest(dir: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            // Not following links: a loop of them cannot hold the start up.
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        let name = f
            .strip_prefix(dir)
            .unwrap_or(f)
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(f)?;
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    let mut digest = hex::encode(h.finalize());
    digest.truncate(BUILD_DIGITS);
    Ok(digest)
}

/// Where a request under `/pkg/` goes. `path` is the request's path.
#[derive(Debug, PartialEq, Eq)]
pub enum PkgPath<'a> {
    /// Not under `/pkg/`.
    Other,
    /// Under `/pkg/` with no build directory: served as it is, revalidated.
    Plain,
    /// Under a build's directory: the file is at `/pkg/<rest>`; `current` says whether it is
    /// the running build's (cached for a year) or another's (revalidated).
    Build { rest: &'a str, current: bool },
}

/// Sorts a request path under `/pkg/` (see [`PkgPath`]); `build` is the running build's name.
pub fn classify<'a>(path: &'a str, build: Option<&str>) -> PkgPath<'a> {
    let Some(under) = path.strip_prefix("/pkg/") else {
        return PkgPath::Other;
    };
    match under.split_once('/') {
        Some((dir, rest))
            if dir.len() == BUILD_DIGITS
                && dir.bytes().all(|b| b.is_ascii_hexdigit())
                && !rest.split('/').any(|s| s == "..") =>
        {
            PkgPath::Build {
                rest,
                current: build == Some(dir),
            }
        }
        _ => PkgPath::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(dir: &Path, js: &[u8], wasm: &[u8]) -> LeptosOptions {
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("zhunong.js"), js).unwrap();
        std::fs::write(pkg.join("zhunong.wasm"), wasm).unwrap();
        std::fs::write(pkg.join("zhunong.css"), b"body{}").unwrap();
        std::fs::write(pkg.join(SPLIT_LOADER), b"import './zhunong.js'").unwrap();
        LeptosOptions::builder()
            .output_name("zhunong")
            .site_root(dir.to_str().unwrap())
            .site_pkg_dir("pkg")
            .build()
    }

    #[test]
    fn the_build_directory_changes_when_a_files_bytes_do_under_the_same_name() {
        let tmp = std::env::temp_dir().join(format!("zhunong-assets-{}", std::process::id()));
        let opts = site(&tmp, b"import './__wasm_split.js' // 1", b"\0asm1");
        let a = Assets::find(&opts);
        let build = a.build.clone().expect("a build directory");
        assert_eq!(build.len(), BUILD_DIGITS);
        assert_eq!(a.js, format!("/pkg/{build}/zhunong.js"));
        assert_eq!(a.wasm, format!("/pkg/{build}/zhunong.wasm"));
        assert_eq!(a.css, format!("/pkg/{build}/zhunong.css"));
        assert_eq!(a.split, Some(format!("/pkg/{build}/__wasm_split.js")));
        // The same names, another script: another directory.
        let opts = site(&tmp, b"import './__wasm_split.js' // 2", b"\0asm1");
        let b = Assets::find(&opts);
        assert_ne!(b.build, a.build);
        assert_eq!(b.js.rsplit('/').next(), a.js.rsplit('/').next());
        // The WebAssembly's bytes count too, and so does any other file (a compressed copy,
        // a lazily loaded module).
        let opts = site(&tmp, b"import './__wasm_split.js' // 2", b"\0asm2");
        let c = Assets::find(&opts);
        assert_ne!(c.build, b.build);
        std::fs::write(tmp.join("pkg/zhunong.js.br"), b"stale").unwrap();
        assert_ne!(Assets::find(&opts).build, c.build);
        std::fs::remove_file(tmp.join("pkg/zhunong.js.br")).unwrap();
        // The same bytes: the same directory (a restart, or a second process, keeps the cache).
        let opts = site(&tmp, b"import './__wasm_split.js' // 2", b"\0asm2");
        let again = Assets::find(&opts);
        assert_eq!(Assets::find(&opts), again);
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn without_a_built_site_the_names_are_plain() {
        let opts = LeptosOptions::builder()
            .output_name("zhunong")
            .site_root("/nonexistent")
            .site_pkg_dir("pkg")
            .build();
        let a = Assets::find(&opts);
        assert_eq!(a.build, None);
        assert_eq!(a.js, "/pkg/zhunong.js");
        assert_eq!(a.css, "/pkg/zhunong.css");
        assert_eq!(a.split, None);
    }

    #[test]
    fn requests_are_sorted_by_build() {
        let b = "0123456789abcdef";
        assert_eq!(classify("/market", Some(b)), PkgPath::Other);
        assert_eq!(classify("/pkg/zhunong.A.js", Some(b)), PkgPath::Plain);
        assert_eq!(
            classify("/pkg/snippets/x/inline0.js", Some(b)),
            PkgPath::Plain
        );
        assert_eq!(
            classify(&format!("/pkg/{b}/zhunong.A.js"), Some(b)),
            PkgPath::Build {
                rest: "zhunong.A.js",
                current: true
            }
        );
        assert_eq!(
            classify("/pkg/fedcba9876543210/zhunong.A.js", Some(b)),
            PkgPath::Build {
                rest: "zhunong.A.js",
                current: false
            }
        );
        assert_eq!(
            classify(&format!("/pkg/{b}/zhunong.A.js"), None),
            PkgPath::Build {
                rest: "zhunong.A.js",
                current: false
            }
        );
    }
}
