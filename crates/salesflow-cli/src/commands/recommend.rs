//! `salesflow recommend`: each customer's next products, with the models compared on a
//! time-based holdout.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use salesflow_core::progress::Progress;
use salesflow_engine::purchases::{
    ProductFeatures, PurchaseLog, customer_segments, product_features, purchase_log,
};
use salesflow_engine::{Dataset, output};
use salesflow_models::recommend::{
    Als, AlsOptions, Content, Hybrid, Interactions, ItemFeatures, ItemKnn, Popular, RankingMetrics,
    Scorer, Weighting, evaluate, recommend,
};
use serde_json::json;

use super::Global;
use crate::input::{ReadFlags, UsageError, load_config};
use crate::progress::Bars;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelKind {
    /// The model with the best NDCG@k on the holdout (hybrid with --no-evaluation).
    Auto,
    /// Implicit ALS (matrix factorisation of who bought what).
    Als,
    /// Item-item collaborative filtering ("bought with").
    ItemKnn,
    /// Products with attributes like the customer's purchases.
    Content,
    /// ALS, item-kNN, content and segment popularity blended.
    Hybrid,
    /// The most popular products overall.
    Popular,
    /// The most popular products in the customer's segment.
    PopularSegment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WeightingKind {
    Cosine,
    Tfidf,
    Bm25,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data folder with orders and order_lines (products and customers are used when there).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The model whose recommendations are written.
    #[arg(long, value_enum, default_value = "auto")]
    model: ModelKind,
    /// Products per customer.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Output file for the recommendations (.csv, .json or .parquet): customer_id, rank,
    /// product_id, score, reason.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Also write the model comparison as JSON here.
    #[arg(long, value_name = "FILE")]
    evaluation: Option<PathBuf>,
    /// Start of the holdout (YYYY-MM-DD): models train on purchases before it and are scored
    /// on the new products customers bought from it on. Default: the day by which 90 % of
    /// purchases had happened.
    #[arg(long, value_name = "DATE", value_parser = crate::input::parse_date)]
    holdout_from: Option<NaiveDate>,
    /// Skip the holdout comparison.
    #[arg(long)]
    no_evaluation: bool,
    /// customers column whose values are the segments for popular-segment and hybrid
    /// (default: segment, else industry, else country, when present).
    #[arg(long, value_name = "COLUMN")]
    segment_by: Option<String>,
    /// ALS latent factors.
    #[arg(long, default_value_t = 64)]
    factors: usize,
    /// ALS sweeps.
    #[arg(long, default_value_t = 15)]
    iterations: usize,
    /// ALS L2 regularisation.
    #[arg(long, default_value_t = 0.01)]
    regularization: f32,
    /// ALS confidence slope (confidence = 1 + alpha × purchases).
    #[arg(long, default_value_t = 1.0)]
    alpha: f32,
    /// Item-kNN weighting.
    #[arg(long, value_enum, default_value = "cosine")]
    weighting: WeightingKind,
    /// Item-kNN neighbours kept per product.
    #[arg(long, default_value_t = 50)]
    neighbours: usize,
    #[command(flatten)]
    read: ReadFlags,
}

/// What the models are built from.
struct Inputs {
    log: PurchaseLog,
    features: Option<ProductFeatures>,
    segments: Option<(String, Vec<Option<u32>>, Vec<String>)>,
}

/// The fitted models of one training set.
struct Models {
    popular: Popular,
    segment: Option<Popular>,
    knn: ItemKnn,
    als: Als,
    content: Option<Content>,
}

impl Models {
    /// The scorer of `kind`, when its inputs exist.
    fn scorer(&self, kind: ModelKind) -> Option<Chosen<'_>> {
        let model = match kind {
            ModelKind::Auto => return None,
            ModelKind::Als => Model::One(&self.als),
            ModelKind::ItemKnn => Model::One(&self.knn),
            ModelKind::Popular => Model::One(&self.popular),
            ModelKind::PopularSegment => Model::One(self.segment.as_ref()?),
            ModelKind::Content => Model::One(self.content.as_ref()?),
            ModelKind::Hybrid => {
                // Weights: collaborative signals first; content and segment popularity keep
                // new products and thin histories covered.
                let mut parts: Vec<(&dyn Scorer, f32)> = vec![(&self.als, 0.5), (&self.knn, 0.3)];
                if let Some(content) = &self.content {
                    parts.push((content, 0.1));
                }
                parts.push((self.segment.as_ref().unwrap_or(&self.popular), 0.1));
                Model::Blend(Hybrid::new(parts))
            }
        };
        Some(Chosen {
            model,
            cold_start: self.segment.as_ref().unwrap_or(&self.popular),
        })
    }
}

/// One model, or a blend of several.
enum Model<'a> {
    One(&'a dyn Scorer),
    Blend(Hybrid<'a>),
}

/// A model, with popularity (in the customer's segment when known) for customers without a
/// purchase history, whom collaborative and content scores cannot tell apart.
struct Chosen<'a> {
    model: Model<'a>,
    cold_start: &'a Popular,
}

impl Scorer for Chosen<'_> {
    fn score(&self, user: Option<u32>, history: (&[u32], &[f32]), scores: &mut [f32]) {
        if history.0.is_empty() {
            return self.cold_start.score(user, history, scores);
        }
        match &self.model {
            Model::One(model) => model.score(user, history, scores),
            Model::Blend(blend) => blend.score(user, history, scores),
        }
    }
}

pub fn run(global: &Global, args: Args) -> Result<ExitCode> {
    if args.k == 0 {
        bail!(UsageError("--k must be at least 1".into()));
    }
    let config = load_config(global.config.as_deref(), Some(&args.data))?;
    args.read.check(&config)?;
    let bars = Bars::new(global.quiet);
    let dataset = args.read.load_dir(&args.data, &config, &bars)?;
    let rt = super::runtime()?;
    let inputs = rt.block_on(load_inputs(&dataset, &args))?;
    let log = &inputs.log;
    if log.is_empty() {
        bail!(UsageError(format!(
            "{}: no purchases (order lines with quantity > 0 of orders that were not cancelled)",
            args.data.display()
        )));
    }
    if args.model == ModelKind::Content && inputs.features.is_none() {
        bail!(UsageError(
            "--model content needs products.csv with a category, price or other attributes".into()
        ));
    }
    if args.model == ModelKind::PopularSegment && inputs.segments.is_none() {
        bail!(UsageError(
            "--model popular-segment needs customers.csv with a segment column (--segment-by COLUMN)".into()
        ));
    }
    if !global.quiet {
        eprintln!(
            "{} purchases by {} customers of {} products",
            log.len(),
            log.customer
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            log.products.len()
        );
    }

    let mut report = Vec::new();
    if !args.no_evaluation {
        let cut = match args.holdout_from {
            Some(date) => date
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp())
                .unwrap_or(i64::MAX),
            None => default_cut(log),
        };
        let train = interactions(log, |t| t < cut);
        let test = interactions(log, |t| t >= cut);
        if train.nnz() == 0 || test.nnz() == 0 {
            bail!(UsageError(format!(
                "the holdout from {} leaves {} training and {} test purchases; pick a --holdout-from inside the purchase history",
                day(cut),
                train.nnz(),
                test.nnz()
            )));
        }
        let models = fit(
            &train,
            &inputs,
            &args,
            &bars,
            "training on purchases before the holdout",
        )?;
        for kind in [
            ModelKind::Popular,
            ModelKind::PopularSegment,
            ModelKind::ItemKnn,
            ModelKind::Content,
            ModelKind::Als,
            ModelKind::Hybrid,
        ] {
            if let Some(scorer) = models.scorer(kind) {
                let metrics = evaluate(&scorer, &train, &test, args.k);
                report.push((kind, metrics));
            }
        }
        if !global.quiet {
            print_evaluation(&report, args.k, &day(cut));
        }
        if let Some(path) = &args.evaluation {
            let rows: Vec<_> = report
                .iter()
                .map(|(kind, m)| metrics_json(*kind, m))
                .collect();
            let text = serde_json::to_string_pretty(&json!({
                "holdout_from": day(cut),
                "k": args.k,
                "models": rows,
            }))?;
            output::write_text(path, &text)?;
        }
    }

    let chosen = match args.model {
        ModelKind::Auto => report
            .iter()
            .max_by(|a, b| a.1.ndcg.total_cmp(&b.1.ndcg))
            .map_or(ModelKind::Hybrid, |r| r.0),
        other => other,
    };
    if args.model == ModelKind::Auto && !global.quiet && !report.is_empty() {
        eprintln!(
            "chose {} (best NDCG@{} on the holdout)",
            model_name(chosen),
            args.k
        );
    }
    let all = interactions(log, |_| true);
    let models = fit(&all, &inputs, &args, &bars, "training on all purchases")?;
    let scorer = models
        .scorer(chosen)
        .context("the chosen model is not available for this data")?;
    let rows = recommend_all(&scorer, &models, &all, &inputs, &args, chosen);
    write_recommendations(&args.out, &rows, &inputs.log)?;
    if !global.quiet {
        eprintln!(
            "wrote {} recommendations ({} per customer, model {}) to {}",
            rows.len(),
            args.k,
            model_name(chosen),
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn load_inputs(dataset: &Dataset, args: &Args) -> Result<Inputs> {
    let log = purchase_log(dataset).await?;
    let features = product_features(dataset, &log.products).await?;
    let column = match &args.segment_by {
        Some(c) => Some(c.clone()),
        None => dataset
            .table(salesflow_core::TableKind::Customers)
            .and_then(|t| {
                ["segment", "industry", "country"]
                    .into_iter()
                    .find(|c| t.has_values(c))
            })
            .map(str::to_owned),
    };
    let segments = match column {
        Some(column) => {
            let (of_customer, levels) = customer_segments(dataset, &column, &log.customers).await?;
            Some((column, of_customer, levels))
        }
        None => None,
    };
    Ok(Inputs {
        log,
        features,
        segments,
    })
}

/// The start of the day by which 90 % of purchases had happened.
fn default_cut(log: &PurchaseLog) -> i64 {
    let mut times = log.at.clone();
    times.sort_unstable();
    let t = times[(times.len() as f64 * 0.9) as usize].max(times[0] + 1);
    t - t.rem_euclid(86_400)
}

fn day(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.date_naive().to_string())
        .unwrap_or_else(|| t.to_string())
}

/// Customer × product matrix: the number of orders in which the customer bought the product.
fn interactions(log: &PurchaseLog, keep: impl Fn(i64) -> bool) -> Interactions {
    Interactions::from_triples(
        log.customers.len(),
        log.products.len(),
        (0..log.len())
            .filter(|&r| keep(log.at[r]))
            .map(|r| (log.customer[r], log.product[r], 1.0)),
    )
}

fn fit(
    train: &Interactions,
    inputs: &Inputs,
    args: &Args,
    bars: &Bars,
    phase: &str,
) -> Result<Models> {
    let weighting = match args.weighting {
        WeightingKind::Cosine => Weighting::Cosine,
        WeightingKind::Tfidf => Weighting::TfIdf,
        WeightingKind::Bm25 => Weighting::Bm25 { k1: 100.0, b: 0.8 },
    };
    let options = AlsOptions {
        factors: args.factors,
        regularization: args.regularization,
        alpha: args.alpha,
        iterations: args.iterations,
        ..AlsOptions::default()
    };
    bars.start(&format!("ALS, {phase}"), args.iterations as u64);
    let clock = std::time::Instant::now();
    let als = Als::fit(train, &options, &mut |_| bars.advance(1))
        .map_err(|e| UsageError(e.to_string()))?;
    bars.finish();
    if std::env::var_os("SALESFLOW_TIMINGS").is_some() {
        eprintln!(
            "[timing] ALS fit ({phase}; {} users, {} products, {} pairs): {:.3}s",
            train.users(),
            train.items(),
            train.nnz(),
            clock.elapsed().as_secs_f64()
        );
    }
    let segment = inputs.segments.as_ref().map(|(_, of_customer, levels)| {
        Popular::fit_segmented(train, of_customer.clone(), levels.len(), 20)
    });
    let content = inputs.features.as_ref().map(|f| {
        Content::fit(&ItemFeatures {
            items: inputs.log.products.len(),
            dims: f.names.len(),
            values: f.values.clone(),
        })
    });
    Ok(Models {
        popular: Popular::fit(train),
        segment,
        knn: ItemKnn::fit(train, weighting, args.neighbours),
        als,
        content,
    })
}

fn model_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Auto => "auto",
        ModelKind::Als => "als",
        ModelKind::ItemKnn => "item-knn",
        ModelKind::Content => "content",
        ModelKind::Hybrid => "hybrid",
        ModelKind::Popular => "popular",
        ModelKind::PopularSegment => "popular-segment",
    }
}

fn metrics_json(kind: ModelKind, m: &RankingMetrics) -> serde_json::Value {
    json!({
        "model": model_name(kind),
        "users": m.users,
        "precision": m.precision,
        "recall": m.recall,
        "map": m.map,
        "ndcg": m.ndcg,
        "precision_implicit": m.precision_implicit,
    })
}

fn print_evaluation(report: &[(ModelKind, RankingMetrics)], k: usize, from: &str) {
    let users = report.first().map_or(0, |r| r.1.users);
    println!("holdout from {from}: new products bought by {users} customers; metrics at k = {k}");
    println!(
        "  {:<16} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "model", "precision", "recall", "MAP", "NDCG", "P (implicit)"
    );
    for (kind, m) in report {
        println!(
            "  {:<16} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>12.4}",
            model_name(*kind),
            m.precision,
            m.recall,
            m.map,
            m.ndcg,
            m.precision_implicit
        );
    }
}

struct Row {
    customer: u32,
    rank: usize,
    product: u32,
    score: f32,
    reason: String,
}

fn product_label(inputs: &Inputs, p: u32) -> String {
    let id = &inputs.log.products[p as usize];
    match inputs
        .features
        .as_ref()
        .and_then(|f| f.display[p as usize].as_ref())
    {
        Some(name) => format!("{id} ({name})"),
        None => id.clone(),
    }
}

/// Why a product is recommended, in words: the strongest link to the customer's purchases.
fn reason(
    models: &Models,
    inputs: &Inputs,
    kind: ModelKind,
    user: u32,
    history: (&[u32], &[f32]),
    p: u32,
) -> String {
    let segment = || {
        let used = models.segment.as_ref()?.segment_used(Some(user))?;
        let (column, _, levels) = inputs.segments.as_ref()?;
        Some(format!(
            "popular in your segment ({column} = {})",
            levels[used as usize]
        ))
    };
    let bought_with = || {
        models
            .knn
            .because_of(history, p)
            .map(|h| format!("bought with {}", product_label(inputs, h)))
    };
    let like = || {
        models
            .content
            .as_ref()?
            .most_similar(history.0, p)
            .map(|h| format!("like {}", product_label(inputs, h)))
    };
    if history.0.is_empty() {
        return segment().unwrap_or_else(|| "popular with all customers".into());
    }
    let text = match kind {
        ModelKind::Popular => None,
        ModelKind::PopularSegment => segment(),
        ModelKind::Content => like(),
        ModelKind::ItemKnn | ModelKind::Als | ModelKind::Hybrid | ModelKind::Auto => {
            bought_with().or_else(like).or_else(segment)
        }
    };
    text.unwrap_or_else(|| "popular with all customers".into())
}

fn recommend_all(
    scorer: &dyn Scorer,
    models: &Models,
    all: &Interactions,
    inputs: &Inputs,
    args: &Args,
    kind: ModelKind,
) -> Vec<Row> {
    let users = all.users();
    let threads = salesflow_engine::default_threads().min(users.max(1));
    let per = users.div_ceil(threads).max(1);
    let parts: Vec<Vec<Row>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut rows = Vec::new();
                    let mut buffer = Vec::new();
                    for u in t * per..((t + 1) * per).min(users) {
                        let history = all.row(u);
                        let list = recommend(
                            scorer,
                            Some(u as u32),
                            history,
                            all.items(),
                            args.k,
                            &mut buffer,
                        );
                        for (rank, (p, score)) in list.into_iter().enumerate() {
                            rows.push(Row {
                                customer: u as u32,
                                rank: rank + 1,
                                product: p,
                                score,
                                reason: reason(models, inputs, kind, u as u32, history, p),
                            });
                        }
                    }
                    rows
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    parts.into_iter().flatten().collect()
}

fn write_recommendations(path: &std::path::Path, rows: &[Row], log: &PurchaseLog) -> Result<()> {
    use datafusion::arrow::array::{ArrayRef, Float32Array, StringArray, UInt32Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("rank", DataType::UInt32, false),
        Field::new("product_id", DataType::Utf8, false),
        Field::new("score", DataType::Float32, false),
        Field::new("reason", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter()
                .map(|r| log.customers[r.customer as usize].as_str()),
        )),
        Arc::new(UInt32Array::from_iter_values(
            rows.iter().map(|r| r.rank as u32),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter()
                .map(|r| log.products[r.product as usize].as_str()),
        )),
        Arc::new(Float32Array::from_iter_values(rows.iter().map(|r| r.score))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.reason.as_str()),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    output::write_file(path, &schema, &[batch])?;
    Ok(())
}
