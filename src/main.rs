//! `zhunong`: the 助农集市 server and its tools.

/// mimalloc instead of glibc's malloc (see `make flamegraph`): faster for the many small
/// allocations of a server render, and it hands freed memory back to the system.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use clap::{Parser, Subcommand};
    use std::process::ExitCode;
    use zhunong::server::{self, config::Settings, seed};

    #[derive(Parser)]
    #[command(
        name = "zhunong",
        version,
        about = "助农集市 — 以购代捐 marketplace and household income ledger"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Option<Command>,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Serve the web app (the default). Creates and migrates the database; never loads demo
        /// data (see `seed --demo`). With ZHUNONG_ENV=production, refuses to start while demo
        /// accounts exist.
        Serve,
        /// Create an administrator account. The password comes from --password-file, else from
        /// ZHUNONG_ADMIN_PASSWORD, else a prompt (not echoed).
        CreateAdmin {
            /// Phone number or e-mail address to log in with.
            #[arg(long)]
            login: String,
            /// How the administrator is greeted.
            #[arg(long, default_value = "管理员")]
            name: String,
            /// A file whose first line is the password.
            #[arg(long)]
            password_file: Option<std::path::PathBuf>,
        },
        /// Write a consistent copy of the SQLite database to PATH while the app may be serving
        /// (VACUUM INTO). For PostgreSQL use pg_dump (see the README).
        Backup {
            /// Where to write the copy; must not exist yet.
            path: std::path::PathBuf,
        },
        /// Replace the SQLite database with a backup (the app must be stopped). The backup is
        /// checked (integrity, migrations, ledger) before it is put in place.
        Restore {
            /// A file written by `zhunong backup`.
            path: std::path::PathBuf,
            /// Replace an existing database file.
            #[arg(long)]
            force: bool,
        },
        /// Apply database migrations and exit.
        Migrate,
        /// Benchmark helpers (scripts/bench.sh): generate a catalogue, or time raw inserts.
        #[command(hide = true)]
        Bench {
            #[arg(long, default_value_t = 0)]
            households: usize,
            #[arg(long, default_value_t = 0)]
            listings: usize,
            /// Time this many raw checkout-shaped insert transactions and print the rate.
            #[arg(long, default_value_t = 0)]
            raw_inserts: usize,
            /// Add this many buyers, each with an address and a session, and print one
            /// `Cookie` value a line (for the checkout benchmark).
            #[arg(long, default_value_t = 0)]
            buyers: usize,
            /// Give the generated households this many months of income, then time the
            /// officials' roll-up for the province and for one county.
            #[arg(long, default_value_t = 0)]
            rollup_months: i64,
            /// Generate this many villages (in new townships of the demo's counties) before the
            /// households, which are spread over all villages.
            #[arg(long, default_value_t = 0)]
            villages: usize,
            /// Print the plan of the dashboard's main query for the province and the county.
            #[arg(long)]
            explain: bool,
        },
        /// Compare the dashboard's maintained roll-ups with the ledger; non-zero exit on any
        /// difference.
        CheckRollup,
        /// Rebuild the dashboard's roll-ups from the ledger (they are kept current by every
        /// posting; this is for repair).
        RebuildRollup,
        /// Verify the income ledger against orders and allocations; non-zero exit on any imbalance.
        CheckLedger,
        /// Print the SQL that gives a PostgreSQL role what the server needs, without UPDATE,
        /// DELETE or TRUNCATE on the ledger (run it as the owner, then serve as the role).
        RuntimeRole {
            /// The role's name.
            name: String,
        },
        /// Load data into the database.
        Seed {
            /// Load the deterministic demo data (idempotent: a second run changes nothing).
            #[arg(long)]
            demo: bool,
        },
    }

    server::bounded::return_memory_to_the_system();
    server::init_tracing();
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("zhunong: {e}");
            return ExitCode::from(2);
        }
    };
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::run(settings).await,
        Command::CreateAdmin { login, name, password_file } => async {
            let password = match (password_file, std::env::var("ZHUNONG_ADMIN_PASSWORD")) {
                (Some(f), _) => std::fs::read_to_string(&f)
                    .map_err(|e| format!("cannot read {}: {e}", f.display()))?
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned(),
                (None, Ok(p)) => p,
                (None, Err(_)) => {
                    let a = rpassword::prompt_password("Password for the new administrator: ")?;
                    let b = rpassword::prompt_password("The same password again: ")?;
                    if a != b {
                        return Err("the two passwords differ".into());
                    }
                    a
                }
            };
            let db = server::open_database(&settings).await?;
            let id = server::admin::create_admin(&db, &login, &name, &password).await?;
            println!("administrator {login} created (user {id})");
            Ok(())
        }
        .await,
        Command::Backup { path } => async {
            let db = server::open_database(&settings).await?;
            let bytes = server::admin::backup(&db, &path).await?;
            println!("backup written to {} ({bytes} bytes)", path.display());
            Ok(())
        }
        .await,
        Command::Restore { path, force } => async {
            let report = server::admin::restore(&settings, &path, force).await?;
            println!("{report}");
            Ok(())
        }
        .await,
        Command::Migrate => async {
            let db = server::open_database(&settings).await?;
            println!("migrations applied ({})", db.backend.name());
            Ok(())
        }
        .await,
        Command::Bench { households, listings, raw_inserts, buyers, rollup_months, villages, explain } => async {
            let db = server::open_database(&settings).await?;
            if households + listings > 0 {
                seed::seed_demo(&db).await?;
                if villages > 0 {
                    let n = server::bench::seed_villages(&db, villages).await?;
                    println!("generated {n} villages");
                }
                let first: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM households")
                    .fetch_one(&db.pool)
                    .await?;
                if rollup_months > 0 {
                    // The roll-ups are rebuilt once the income is there too.
                    server::bench::insert_catalogue(&db, households, listings).await?;
                } else {
                    server::bench::seed_catalogue(&db, households, listings)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                println!("generated {households} households and {listings} listings");
                if rollup_months > 0 {
                    let started = std::time::Instant::now();
                    let rows = server::bench::seed_income_months(&db, first, rollup_months).await?;
                    println!("generated {rows} household-months of income in {:.1} s", started.elapsed().as_secs_f64());
                    let started = std::time::Instant::now();
                    let built = zhunong::ledger::rollup::rebuild(&db).await?;
                    println!("roll-ups rebuilt in {:.1} s", started.elapsed().as_secs_f64());
                    for b in built {
                        println!("  epoch {} of {} households built in {:.1} s", b.epoch, b.households, b.seconds);
                    }
                }
            }
            if rollup_months > 0 || explain {
                for region in ["350000", "350725"] {
                    let code = zhunong::domain::region::RegionCode::parse(region).map_err(|e| e.to_string())?;
                    // The first run warms the cache; the median of five is the figure.
                    zhunong::official::server::time_rollup(&db, &code).await?;
                    let mut runs = Vec::new();
                    let mut last = (0, false);
                    for _ in 0..5 {
                        let (ms, n, maintained) = zhunong::official::server::time_rollup(&db, &code).await?;
                        runs.push(ms);
                        last = (n, maintained);
                    }
                    runs.sort_by(f64::total_cmp);
                    println!(
                        "dashboard {region} ({} regions below on the page, {}): median {:.1} ms, slowest {:.1} ms of 5",
                        last.0,
                        if last.1 { "maintained roll-ups" } else { "computed live" },
                        runs[2],
                        runs[4]
                    );
                    if explain {
                        for line in zhunong::official::server::explain_rollup(&db, &code).await? {
                            println!("    {line}");
                        }
                    }
                }
            }
            if buyers > 0 {
                for cookie in server::bench::add_buyers(&db, buyers).await? {
                    println!("{cookie}");
                }
            }
            if raw_inserts > 0 {
                let rate = server::bench::raw_insert_loop(&db, raw_inserts).await?;
                println!("raw insert loop: {rate:.0} checkout-shaped transactions/s ({raw_inserts} rounds, one connection)");
            }
            Ok(())
        }
        .await,
        Command::RuntimeRole { name } => async {
            for s in server::db::runtime_role_sql(&name)? {
                println!("{s};");
            }
            Ok(())
        }
        .await,
        Command::CheckRollup => async {
            let db = server::open_database(&settings).await?;
            let problems = zhunong::ledger::rollup::check(&db).await?;
            if problems.is_empty() {
                println!("roll-ups equal the ledger");
                Ok(())
            } else {
                for p in &problems {
                    println!("DIFFERENCE: {p}");
                }
                Err(format!("{} differences", problems.len()).into())
            }
        }
        .await,
        Command::RebuildRollup => async {
            let db = server::open_database(&settings).await?;
            let built = zhunong::ledger::rollup::rebuild(&db).await?;
            if built.is_empty() {
                println!("roll-up sums rebuilt; the epochs are being built by another task");
            }
            for b in built {
                println!("roll-ups rebuilt: epoch {} of {} households in {:.1} s", b.epoch, b.households, b.seconds);
            }
            Ok(())
        }
        .await,
        Command::CheckLedger => async {
            let db = server::open_database(&settings).await?;
            let c = zhunong::ledger::server::check_ledger(&db).await?;
            println!(
                "ledger: {} rows, {} households, {} fen in all ({} verified, {} attested by sellers); {} paid items and {} refunded items checked",
                c.ledger_rows, c.households, c.total_fen, c.verified_fen, c.attested_fen, c.paid_items, c.refunded_items
            );
            println!(
                "hash chain: {} rows chained, {} earlier rows sealed under the first",
                c.chain.chained_rows, c.chain.earlier_rows
            );
            if c.problems.is_empty() {
                println!("balanced");
                Ok(())
            } else {
                for p in &c.problems {
                    println!("IMBALANCE: {p}");
                }
                Err(format!("{} imbalances", c.problems.len()).into())
            }
        }
        .await,
        Command::Seed { demo } => async {
            if !demo {
                return Err("nothing to seed: pass --demo".into());
            }
            let db = server::open_database(&settings).await?;
            let r = seed::seed_demo(&db).await?;
            let pictures = zhunong::server::seed_market::seed_pictures(&db, &settings.upload_dir).await?;
            if pictures > 0 {
                println!("demo pictures painted: {pictures} (in {})", settings.upload_dir.display());
            }
            if r.live_events > 0 {
                println!("demo livestreams: {} (a past one, one live now, one to come)", r.live_events);
            }
            if r.already_present {
                println!("demo data already present; only the demo livestreams were moved to now");
            } else {
                println!(
                    "demo data loaded: {} regions, {} organisations, {} households, {} benefit links, {} accounts (password {}), {} listings, {} orders, {} other-income rows, {} monitoring records",
                    r.regions, r.organisations, r.households, r.links, r.users, seed::DEMO_PASSWORD, r.listings, r.orders, r.ledger_rows, r.monitoring
                );
            }
            Ok(())
        }
        .await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zhunong: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is built with `--features ssr`; the browser half is the library (`hydrate`).
}
