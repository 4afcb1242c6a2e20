//! Imports a CSV into a CRM database and prints the time: the store alone, without the
//! binary's analytics, for profiling imports.
//!
//!     cargo run --release -p salesflow-store --example import_file -- URL KIND FILE

use salesflow_core::progress::NoProgress;
use salesflow_store::{Actor, ImportOptions, Store};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, kind, file] = args.as_slice() else {
        return Err("usage: import_file URL KIND FILE".into());
    };
    let store = Store::open(url).await?;
    let started = std::time::Instant::now();
    let mut options = ImportOptions::new(kind, file);
    options.dry_run = std::env::var_os("DRY_RUN").is_some();
    let reader = std::io::BufReader::new(std::fs::File::open(file)?);
    let report = store
        .import(&Actor::system(), &options, reader, &NoProgress)
        .await?;
    println!(
        "{} rows: created {}, updated {}, errors {} in {:.2} s",
        report.rows,
        report.created,
        report.updated,
        report.error_count,
        started.elapsed().as_secs_f64()
    );
    for error in report.errors.iter().take(5) {
        println!("  line {}: {}", error.line, error.message);
    }
    Ok(())
}
