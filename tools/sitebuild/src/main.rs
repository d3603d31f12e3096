//! `zhunong-sitebuild`: builds 助农集市 for release, in place of cargo-leptos.
//!
//! 1. the browser half: `cargo build --lib --target wasm32-unknown-unknown --profile wasm-release
//!    --features hydrate`, linked with relocations kept so that it can be split;
//! 2. split by route (Leptos' `#[lazy]` / `#[lazy_route]`): the first download and one
//!    WebAssembly file per lazily loaded page, plus the chunks they share, and the JavaScript
//!    loader between them (`__wasm_split.js`);
//! 3. wasm-bindgen's glue (`zhunong.js`) for the main module;
//! 4. `wasm-opt -Oz` on every WebAssembly file (npm binaryen's passes, run through its JavaScript
//!    API in one Node.js process per core), `esbuild --minify` on the glue and the stylesheet;
//! 5. `public/` copied beside `pkg/`; a brotli and a gzip copy of every file;
//! 6. the server: `cargo build --release --bin zhunong --features ssr`;
//! 7. once both are built, the new site put in place of the old one (moved aside, the new one
//!    moved in, the old one removed): no file of an earlier build stays behind to be served
//!    under this build's directory, and a failed build leaves the old site beside the old server.
//!
//! The names are plain (`zhunong.js`, `zhunong.wasm`, `zhunong.css`): the server addresses the
//! files under a directory named by a digest of all of them (`server::assets`), which is what
//! lets browsers keep them for a year.
//!
//! Why not cargo-leptos: it builds 730 crates (a JavaScript compiler, a CSS compiler, git, an
//! HTTP client, a file watcher) and took 12 to 21 minutes to install on two cores; this tool
//! builds about 70 and takes a few minutes. It does only what a release build of this app
//! needs; `cargo leptos watch`'s live reload is not among it.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str = "\
usage: zhunong-sitebuild [--front-only | --server-only] [--lib-cargo-arg ARG]...

Run in the project's directory. Writes the site to target/site (LEPTOS_SITE_ROOT) and the
server to $CARGO_TARGET_DIR/release/zhunong. Needs cargo, wasm-opt and esbuild on PATH.";

/// The project's names and places (the start-axum layout).
struct Project {
    /// The crate, its library's WebAssembly and the files under `pkg/` are named by it.
    name: String,
    /// Where the site goes (`pkg/` and the public files); the server reads it at run time.
    site_root: PathBuf,
    site_pkg_dir: String,
    style_file: PathBuf,
    assets_dir: PathBuf,
    target_dir: PathBuf,
    /// Extra arguments for the WebAssembly build (Debian's toolchain: `-Zbuild-std=…`).
    lib_cargo_args: Vec<String>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("zhunong-sitebuild: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut front = true;
    let mut server = true;
    let mut lib_cargo_args = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--front-only" => server = false,
            "--server-only" => front = false,
            "--lib-cargo-arg" => lib_cargo_args.push(args.next().context(USAGE)?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => bail!("unknown argument {a:?}\n{USAGE}"),
        }
    }
    let env = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_string());
    let target_dir = PathBuf::from(env("CARGO_TARGET_DIR", "target"));
    let proj = Project {
        name: env("LEPTOS_OUTPUT_NAME", "zhunong"),
        site_root: PathBuf::from(env("LEPTOS_SITE_ROOT", "target/site")),
        site_pkg_dir: env("LEPTOS_SITE_PKG_DIR", "pkg"),
        style_file: PathBuf::from("style/main.css"),
        assets_dir: PathBuf::from("public"),
        target_dir,
        lib_cargo_args,
    };
    if !Path::new("Cargo.toml").exists() {
        bail!("run me in the project's directory (no Cargo.toml here)");
    }
    if front {
        check_bindgen_version()?;
        for dir in [
            proj.site_root.clone(),
            sibling(&proj.site_root, "new")?,
            sibling(&proj.site_root, "old")?,
        ] {
            check_site_root(&dir, &proj)?;
        }
    }
    // One after the other: run side by side on two cores, the two builds took longer (18 min
    // 23 s against 17 min 24 s from cold).
    let staging = if front {
        Some(build_front(&proj)?)
    } else {
        None
    };
    if server {
        run_cmd("the server", &mut server_command(&proj))?;
        server_built(&proj)?;
    }
    // Only now, so that a failed server build leaves the old site beside the old server.
    if let Some(staging) = staging {
        install_site(&proj, &staging)?;
    }
    Ok(())
}

/// The `wasm-bindgen` this tool was built with (`Cargo.toml`'s pin of
/// `wasm-bindgen-cli-support`); the app's `Cargo.lock` must name the same one, or the glue and
/// the WebAssembly would not agree.
const BINDGEN_VERSION: &str = "0.2.130";

fn check_bindgen_version() -> Result<()> {
    let lock = fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
    let locked = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"').to_string());
    match locked {
        Some(v) if v == BINDGEN_VERSION => Ok(()),
        Some(v) => bail!(
            "Cargo.lock has wasm-bindgen {v}, this zhunong-sitebuild binds {BINDGEN_VERSION}: \
             run scripts/setup.sh (or upgrade tools/sitebuild's pin with the app's)"
        ),
        None => bail!("Cargo.lock names no wasm-bindgen"),
    }
}

/// What the tool writes into every site it builds; a site root without it (and without a
/// build's `pkg/`) is not replaced, since replacing means deleting it.
const SITE_MARK: &str = ".zhunong-site";

/// Refuses to go on if `root` (the site, or its `.new` or `.old` beside it, which a build
/// deletes) holds anything but a site: a build's mark, or an earlier build's `pkg/` (cargo-leptos
/// named its files `<name>.<hash>.wasm`), or nothing.
fn check_site_root(root: &Path, p: &Project) -> Result<()> {
    let mut entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", root.display())),
    };
    let built_wasm = |f: &fs::DirEntry| {
        let name = f.file_name().to_string_lossy().into_owned();
        name.starts_with(&p.name) && name.ends_with(".wasm")
    };
    let built = root.join(SITE_MARK).is_file()
        || fs::read_dir(root.join(&p.site_pkg_dir))
            .is_ok_and(|d| d.filter_map(|f| f.ok()).any(|f| built_wasm(&f)));
    if built || entries.next().is_none() {
        Ok(())
    } else {
        bail!(
            "{} holds files that no build of this tool wrote: refusing to replace it \
             (set LEPTOS_SITE_ROOT to a directory of its own)",
            root.display()
        )
    }
}

/// Puts the built site in place of the old one: the old one is moved aside, the new one moved
/// in (put back if that fails), then the old one removed.
fn install_site(p: &Project, staging: &Path) -> Result<()> {
    step(&format!(
        "putting the new site in {}",
        p.site_root.display()
    ));
    let old = sibling(&p.site_root, "old")?;
    if old.exists() {
        fs::remove_dir_all(&old).with_context(|| format!("clearing {}", old.display()))?;
    }
    let had_old = p.site_root.exists();
    if had_old {
        fs::rename(&p.site_root, &old).context("moving the old site aside")?;
    }
    if let Err(e) = fs::rename(staging, &p.site_root) {
        if had_old {
            if let Err(back) = fs::rename(&old, &p.site_root) {
                bail!(
                    "moving the new site in: {e}; putting the old one back from {}: {back}",
                    old.display()
                );
            }
        }
        return Err(e).context("moving the new site in");
    }
    if had_old {
        if let Err(e) = fs::remove_dir_all(&old) {
            eprintln!(
                "warning: the old site is left in {} ({e}); the next build removes it",
                old.display()
            );
        }
    }
    report_sizes(&p.site_root.join(&p.site_pkg_dir), &p.name)
}

/// Runs a command, failing with its name if it fails.
fn run_cmd(what: &str, cmd: &mut Command) -> Result<()> {
    step(&format!("{what}: {cmd:?}"));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {what} ({:?})", cmd.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Prints a step, with the time since the build started.
fn step(what: &str) {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let t = START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f32();
    eprintln!("\x1b[1m==> [{t:.1} s] {what}\x1b[0m");
}

fn server_command(p: &Project) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--release", "--package", &p.name, "--bin", &p.name])
        .args(["--no-default-features", "--features", "ssr"])
        .env("LEPTOS_OUTPUT_NAME", &p.name);
    cmd
}

fn server_built(p: &Project) -> Result<()> {
    // cargo-leptos' content hashes, from a build before this tool: no longer read by the
    // server, removed so that nobody takes them for this build's.
    let stale = p.target_dir.join("release").join("hash.txt");
    if stale.exists() {
        fs::remove_file(&stale).with_context(|| format!("removing {}", stale.display()))?;
    }
    Ok(())
}

/// Builds the front end into a new directory beside the site and returns it.
fn build_front(p: &Project) -> Result<PathBuf> {
    let front_target = p.target_dir.join("front");
    // The same command and flags as cargo-leptos 0.3.11 gave, so a cache it filled is reused:
    // `--cfg erase_components` (.cargo/config.toml; RUSTFLAGS replaces it, so it is repeated)
    // and the linker's relocations, which the splitter reads.
    let mut cargo = Command::new("cargo");
    cargo
        .args(["build", "--package", &p.name, "--lib"])
        .arg(format!("--target-dir={}", front_target.display()))
        .args(["--target=wasm32-unknown-unknown", "--no-default-features"])
        .args(["--features=hydrate"])
        .args(&p.lib_cargo_args)
        .args(["--profile=wasm-release"])
        .env("LEPTOS_OUTPUT_NAME", &p.name)
        .env(
            "RUSTFLAGS",
            "--cfg erase_components -Clink-args=--emit-relocs",
        );
    run_cmd("the browser's WebAssembly", &mut cargo)?;
    let out = front_target
        .join("wasm32-unknown-unknown")
        .join("wasm-release");
    let input = out.join(format!("{}.wasm", p.name.replace('-', "_")));

    // Everything is written to a new directory beside the site and swapped in at the end.
    let staging = sibling(&p.site_root, "new")?;
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("clearing {}", staging.display()))?;
    }
    let pkg = staging.join(&p.site_pkg_dir);
    fs::create_dir_all(&pkg).with_context(|| format!("creating {}", pkg.display()))?;
    // First, so that the next build may remove what a failed one left here.
    fs::write(staging.join(SITE_MARK), "built by zhunong-sitebuild\n")?;

    step("splitting the WebAssembly by route");
    let wasm = fs::read(&input).with_context(|| format!("reading {}", input.display()))?;
    let main_split = out.join(format!("{}_split.wasm", p.name));
    let main_module = format!("./{}.js", p.name);
    let split = wasm_split_cli_support::transform({
        let mut o = wasm_split_cli_support::Options::new(&wasm);
        o.output_dir = &pkg;
        o.main_out_path = &main_split;
        o.main_module = &main_module;
        o.link_name = "./__wasm_split.js";
        o
    })
    .map_err(|e| anyhow::anyhow!("{e:?}"))
    .context("splitting the WebAssembly")?;
    drop(wasm);
    eprintln!("    {} lazily loaded modules", split.split_modules.len());

    step("wasm-bindgen");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&main_split)
        .out_name(&p.name)
        .web(true)?
        .typescript(false)
        .keep_lld_exports(true)
        .demangle(false)
        .generate(&pkg)
        .context("wasm-bindgen")?;
    // The page's script names the module `<name>.wasm` (wasm-bindgen writes `<name>_bg.wasm`).
    let main_wasm = pkg.join(format!("{}.wasm", p.name));
    fs::rename(pkg.join(format!("{}_bg.wasm", p.name)), &main_wasm)
        .context("renaming the main module")?;

    step("wasm-opt -Oz");
    let mut modules = vec![main_wasm];
    modules.extend(split.split_modules.iter().cloned());
    optimise(&modules)?;

    step("esbuild --minify (the glue and the stylesheet)");
    let glue = pkg.join(format!("{}.js", p.name));
    run_quiet(
        "esbuild",
        Command::new("esbuild")
            .arg(&glue)
            .args(["--minify", "--allow-overwrite", "--log-level=warning"])
            .arg(outfile(&glue)),
    )?;
    run_quiet(
        "esbuild",
        Command::new("esbuild")
            .arg(&p.style_file)
            .args(["--minify", "--log-level=warning"])
            // Vendor prefixes for the browsers in use on Chinese phones.
            .arg("--target=chrome80,safari13,firefox78,edge88")
            .arg(outfile(&pkg.join(format!("{}.css", p.name)))),
    )?;

    step(&format!("copying {}/", p.assets_dir.display()));
    copy_dir(&p.assets_dir, &staging)?;

    step("brotli and gzip copies");
    let mut files = Vec::new();
    list_files(&staging, &mut files)?;
    files.retain(|f| f.file_name() != Some(std::ffi::OsStr::new(SITE_MARK)));
    files.sort_by_key(|f| std::cmp::Reverse(fs::metadata(f).map(|m| m.len()).unwrap_or(0)));
    each_in_parallel(&files, |f| precompress(f))?;

    Ok(staging)
}

/// What `wasm-opt` is asked for. `wasm_opt.mjs` does the same through binaryen's JavaScript
/// API (its levels, Stack IR and features); change the two together.
const WASM_OPT_ARGS: [&str; 3] = [
    "-Oz",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
];

/// `wasm-opt` ([`WASM_OPT_ARGS`]) on every module, in place. npm's binaryen (what
/// `scripts/setup.sh` installs) is binaryen compiled to JavaScript: each run of its `wasm-opt`
/// first spends about a second loading itself, which for two hundred modules was more than half
/// of this step. So with it the modules are optimised by its JavaScript API, loaded once in each
/// of one Node.js process per core (`wasm_opt.mjs`: the same passes, the same output). With a
/// native `wasm-opt` first on PATH (or a path Node.js cannot be given), one run per module.
fn optimise(modules: &[PathBuf]) -> Result<()> {
    let index = npm_binaryen().filter(|_| modules.iter().all(|m| m.to_str().is_some()));
    let Some(index) = index else {
        eprintln!("    one wasm-opt run per module");
        return each_in_parallel(modules, |m| {
            run_quiet(
                "wasm-opt",
                Command::new("wasm-opt")
                    .args(WASM_OPT_ARGS)
                    .arg(m)
                    .arg("-o")
                    .arg(m),
            )
        });
    };
    eprintln!("    binaryen's JavaScript API ({})", index.display());
    let sized = modules
        .iter()
        .map(|m| Ok((fs::metadata(m)?.len(), m.clone())))
        .collect::<std::io::Result<Vec<_>>>()
        .context("reading the modules' sizes")?;
    each_in_parallel(&share_out(sized, cores()), |group| {
        run_quiet(
            "wasm-opt (binaryen's JavaScript API)",
            Command::new("node")
                .args(["--input-type=module", "-e", WASM_OPT_JS])
                .arg(&index)
                .args(group),
        )
    })
}

const WASM_OPT_JS: &str = include_str!("wasm_opt.mjs");

/// npm's binaryen, if the `wasm-opt` a shell would run (the first executable file of that name
/// on PATH) is its: the package's `index.js`.
fn npm_binaryen() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    let exe = std::env::split_paths(&path)
        .map(|d| d.join("wasm-opt"))
        .find(|p| {
            fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })?;
    let package = fs::canonicalize(exe)
        .ok()?
        .parent()?
        .parent()?
        .to_path_buf();
    let manifest = fs::read_to_string(package.join("package.json")).ok()?;
    let named_binaryen = manifest
        .lines()
        .any(|l| l.trim_start().starts_with("\"name\"") && l.contains("\"binaryen\""));
    let index = package.join("index.js");
    (named_binaryen && index.is_file()).then_some(index)
}

/// Splits the modules into `n` groups of about the same total size, largest first, each to the
/// group with the least so far: the work is roughly in proportion to the size.
fn share_out(mut sized: Vec<(u64, PathBuf)>, n: usize) -> Vec<Vec<PathBuf>> {
    sized.sort_by_key(|m| std::cmp::Reverse(m.0));
    let mut groups: Vec<(u64, Vec<PathBuf>)> = vec![(0, Vec::new()); n.max(1)];
    for (size, m) in sized {
        let least = groups
            .iter_mut()
            .min_by_key(|g| g.0)
            .expect("at least one group");
        least.0 += size;
        least.1.push(m);
    }
    groups
        .into_iter()
        .map(|g| g.1)
        .filter(|g| !g.is_empty())
        .collect()
}

/// `target/site` → `target/site.<suffix>`.
fn sibling(dir: &Path, suffix: &str) -> Result<PathBuf> {
    let name = dir.file_name().context("the site root has no name")?;
    let mut n = OsString::from(name);
    n.push(".");
    n.push(suffix);
    Ok(dir.with_file_name(n))
}

fn outfile(p: &Path) -> OsString {
    let mut s = OsString::from("--outfile=");
    s.push(p);
    s
}

/// Runs a command whose output matters only when it fails.
fn run_quiet(what: &str, cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {what}: is it on PATH? (scripts/setup.sh)"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `f` on every item, on as many threads as there are cores; the first error wins.
fn each_in_parallel<T: Sync>(items: &[T], f: impl Fn(&T) -> Result<()> + Sync) -> Result<()> {
    let threads = cores();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        match items.get(i) {
                            Some(item) => f(item)?,
                            None => return Ok(()),
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| bail!("a worker panicked")))
            .collect::<Result<Vec<()>>>()
            .map(drop)
    })
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            fs::create_dir_all(&dest)?;
            copy_dir(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), &dest)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            list_files(&entry.path(), out)?;
        } else {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Writes `<file>.br` (quality 11) and `<file>.gz` (level 9) beside the file, which the
/// server's file handler sends to browsers that accept them.
fn precompress(file: &Path) -> Result<()> {
    let bytes = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let with = |ext: &str| {
        let mut n = file.as_os_str().to_owned();
        n.push(ext);
        PathBuf::from(n)
    };
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams::default();
    brotli::BrotliCompress(&mut bytes.as_slice(), &mut br, &params)
        .with_context(|| format!("brotli of {}", file.display()))?;
    fs::write(with(".br"), br)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes)?;
    fs::write(with(".gz"), gz.finish()?)?;
    Ok(())
}

/// Prints what a first visit downloads: the app's WebAssembly, its script, the split loader and
/// the stylesheet.
fn report_sizes(pkg: &Path, name: &str) -> Result<()> {
    let size = |f: &str| fs::metadata(pkg.join(f)).map(|m| m.len()).unwrap_or(0);
    let mut total = [0u64; 3];
    for f in [
        format!("{name}.wasm"),
        format!("{name}.js"),
        "__wasm_split.js".to_string(),
        format!("{name}.css"),
    ] {
        let sizes = [size(&f), size(&format!("{f}.br")), size(&format!("{f}.gz"))];
        eprintln!(
            "    {f}: {} B, {} B brotli, {} B gzip",
            sizes[0], sizes[1], sizes[2]
        );
        for (t, s) in total.iter_mut().zip(sizes) {
            *t += s;
        }
    }
    eprintln!(
        "    a first visit: {} B, {} B brotli, {} B gzip",
        total[0], total[1], total[2]
    );
    Ok(())
}
