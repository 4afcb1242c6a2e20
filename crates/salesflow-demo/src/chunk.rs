//! Generation of one chunk of customers and everything that hangs off them.
//!
//! A chunk is a contiguous range of customer numbers. Each table draws from its
//! own random stream keyed by `(seed, table, chunk index)`, so a chunk's output
//! depends only on the seed, the customer count and the chunk index — never on
//! which thread generated it. Order and deal ids are global sequence numbers,
//! so chunks leave them out and the writer fills them in (see [`Pending`]).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use rand::Rng;
use rand_distr::{Beta, Distribution, Exp1, Gamma, Poisson, StandardNormal};

use crate::calendar::{
    Calendar, DAY, END, LAST, START, WEEKS, add_months, dollars, micros, to_cents,
};
use crate::catalog::{Catalog, Line};
use crate::marketing::{ATTRIBUTION_DAYS, PAID_CELLS, Plan, SEGMENTS, cell_channel};
use crate::names;
use crate::params::*;
use crate::rng::{DemoRng, pick_by, pick_cdf, pick_pair, pick_weighted, stream};
use crate::tables::Table;

/// Stage names in pipeline order; indices 4 and 5 are the end stages.
const STAGES: [&str; 6] = [
    "contact",
    "needs_analysis",
    "demo",
    "proposal",
    "won",
    "lost",
];
const WON: usize = 4;
const LOST: usize = 5;
/// Deal lead sources with a multiplier on the first stage's pass rate.
const SOURCES: [(&str, f64); 4] = [
    ("inbound", 0.45),
    ("outbound", 0.30),
    ("referral", 0.15),
    ("partner", 0.10),
];
const SOURCE_EFFECT: [f64; 4] = [1.0, 0.8, 1.25, 1.1];
/// Lost reasons per stage at which the deal was lost.
const LOST_REASONS: [[(&str, f64); 4]; 4] = [
    [
        ("no decision", 0.50),
        ("timing", 0.35),
        ("price", 0.10),
        ("competitor", 0.05),
    ],
    [
        ("no decision", 0.40),
        ("timing", 0.30),
        ("price", 0.15),
        ("competitor", 0.15),
    ],
    [
        ("no decision", 0.25),
        ("timing", 0.25),
        ("price", 0.25),
        ("competitor", 0.25),
    ],
    [
        ("no decision", 0.15),
        ("timing", 0.15),
        ("price", 0.40),
        ("competitor", 0.30),
    ],
];
/// `(plan, list MRR in cents, weight)`.
const PLANS: [(&str, i64, f64); 3] = [
    ("starter", 2_900, 0.55),
    ("growth", 9_900, 0.33),
    ("scale", 29_900, 0.12),
];
/// Order channel weights (web, mobile, sales) per segment.
const ORDER_CHANNELS: [[(&str, f64); 3]; 2] = [
    [("web", 0.60), ("mobile", 0.32), ("sales", 0.08)],
    [("web", 0.45), ("mobile", 0.15), ("sales", 0.40)],
];

/// Which global sequence an id column draws from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum IdKind {
    /// `O00000001`, ...
    Order,
    /// `D000001`, ...
    Deal,
}

/// An id column the writer must fill in.
pub(crate) struct IdFill {
    /// Position of the id column in the final schema.
    pub column: usize,
    /// Which sequence.
    pub kind: IdKind,
    /// Chunk-local sequence number per row, or `None` when row `i` is number `i`.
    pub local: Option<Vec<u32>>,
}

/// A table's rows for one chunk, missing (at most) one global id column.
pub(crate) struct Pending {
    /// The table.
    pub table: Table,
    /// All columns except the id column described by `id`.
    pub columns: Vec<ArrayRef>,
    /// The missing id column, if any.
    pub id: Option<IdFill>,
}

/// Everything one chunk produced.
pub(crate) struct ChunkOut {
    /// Number of customers in the chunk.
    pub customers: u64,
    /// Orders in the chunk (advances the global order sequence).
    pub orders: u64,
    /// Deals in the chunk (advances the global deal sequence).
    pub deals: u64,
    /// Per-table rows, in data-contract order.
    pub tables: Vec<Pending>,
    /// Customers acquired per `week * PAID_CELLS + cell`.
    pub cell_customers: Vec<u64>,
    /// Attributed revenue (cents) per `week * PAID_CELLS + cell`.
    pub cell_revenue: Vec<i64>,
}

/// Distributions with constant parameters, built once.
pub(crate) struct Dists {
    lambda: Gamma<f64>,
    dropout: Beta<f64>,
    nu: Gamma<f64>,
    spend: Gamma<f64>,
    churn: Beta<f64>,
    visits: Poisson<f64>,
    page_views: Poisson<f64>,
    revenue: Gamma<f64>,
}

impl Dists {
    pub(crate) fn new() -> Self {
        const OK: &str = "constant distribution parameters are valid";
        Self {
            lambda: Gamma::new(BGNBD_R, 1.0).expect(OK),
            dropout: Beta::new(BGNBD_A, BGNBD_B).expect(OK),
            nu: Gamma::new(GG_Q, 1.0).expect(OK),
            spend: Gamma::new(GG_P, 1.0).expect(OK),
            churn: Beta::new(SBG_ALPHA, SBG_BETA).expect(OK),
            visits: Poisson::new(0.7).expect(OK),
            page_views: Poisson::new(1.5).expect(OK),
            revenue: Gamma::new(2.0, 60.0).expect(OK),
        }
    }
}

/// Shared, read-only generation context.
pub(crate) struct Ctx<'a> {
    pub seed: u64,
    pub customers: u64,
    pub full: bool,
    pub chunk_size: u64,
    pub cal: &'a Calendar,
    pub plan: &'a Plan,
    pub catalog: &'a Catalog,
    pub dists: &'a Dists,
}

impl Ctx<'_> {
    /// Number of chunks.
    pub(crate) fn chunks(&self) -> u64 {
        self.customers.div_ceil(self.chunk_size)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Completed,
    Refunded,
    Cancelled,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Refunded => "refunded",
            Status::Cancelled => "cancelled",
        }
    }
}

struct OrderRow {
    ts: i64,
    status: Status,
    channel: &'static str,
    cents: i64,
    lines: (usize, usize),
}

fn log_normal(rng: &mut DemoRng, median: f64, sigma: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    median * (sigma * z).exp()
}

fn exp_secs(rng: &mut DemoRng, mean_secs: f64) -> i64 {
    let e: f64 = rng.sample(Exp1);
    (e * mean_secs) as i64
}

fn ts_array(values: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

fn opt_ts_array(values: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

fn str_array(values: Vec<&'static str>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

/// Column buffers for one chunk.
struct Gen<'a> {
    ctx: &'a Ctx<'a>,
    // random streams
    r_cells: DemoRng,
    r_customers: DemoRng,
    r_orders: DemoRng,
    r_amounts: DemoRng,
    r_deals: DemoRng,
    r_subs: DemoRng,
    r_events: DemoRng,
    r_exp: DemoRng,
    // customers
    c_id: StringBuilder,
    c_created: Vec<i64>,
    c_email: StringBuilder,
    c_name: StringBuilder,
    c_company: StringBuilder,
    c_country: Vec<&'static str>,
    c_industry: Vec<&'static str>,
    c_channel: Vec<&'static str>,
    c_segment: Vec<&'static str>,
    c_age: Vec<i64>,
    c_gender: Vec<&'static str>,
    c_satisfaction: Vec<f64>,
    // orders
    o_customer: StringBuilder,
    o_ts: Vec<i64>,
    o_amount: Vec<f64>,
    o_channel: Vec<&'static str>,
    o_status: Vec<&'static str>,
    // order lines
    l_order: Vec<u32>,
    l_product: StringBuilder,
    l_quantity: Vec<i64>,
    l_price: Vec<f64>,
    // deals
    d_created: Vec<i64>,
    d_stage: Vec<&'static str>,
    d_amount: Vec<f64>,
    d_customer: StringBuilder,
    d_pipeline: Vec<&'static str>,
    d_owner: Vec<&'static str>,
    d_source: Vec<&'static str>,
    d_closed: Vec<Option<i64>>,
    d_status: Vec<&'static str>,
    d_lost: Vec<Option<&'static str>>,
    // stage events
    s_deal: Vec<u32>,
    s_stage: Vec<&'static str>,
    s_ts: Vec<i64>,
    // subscriptions
    u_customer: StringBuilder,
    u_started: Vec<i64>,
    u_mrr: Vec<f64>,
    u_ended: Vec<Option<i64>>,
    u_plan: Vec<&'static str>,
    // events
    e_customer: StringBuilder,
    e_ts: Vec<i64>,
    e_kind: Vec<&'static str>,
    e_duration: Vec<f64>,
    e_value: Vec<Option<f64>>,
    // experiments
    x_variant: Vec<&'static str>,
    x_customer: StringBuilder,
    x_converted: Vec<bool>,
    x_revenue: Vec<f64>,
    // marketing feedback
    cell_customers: Vec<u64>,
    cell_revenue: Vec<i64>,
    // scratch
    purchases: Vec<i64>,
    rows: Vec<OrderRow>,
    lines: Vec<Line>,
    events: Vec<(i64, &'static str, f64, Option<f64>)>,
}

/// Generates chunk `k`.
pub(crate) fn generate_chunk(ctx: &Ctx<'_>, k: u64) -> ChunkOut {
    let first = k * ctx.chunk_size;
    let last = (first + ctx.chunk_size).min(ctx.customers);
    let n = (last - first) as usize;
    let seed = ctx.seed;
    let mut g = Gen {
        ctx,
        r_cells: stream(seed, "acquisition_cells", k),
        r_customers: stream(seed, "customers", k),
        r_orders: stream(seed, "orders", k),
        r_amounts: stream(seed, "order_amounts", k),
        r_deals: stream(seed, "deals", k),
        r_subs: stream(seed, "subscriptions", k),
        r_events: stream(seed, "events", k),
        r_exp: stream(seed, "experiments", k),
        c_id: StringBuilder::new(),
        c_created: Vec::new(),
        c_email: StringBuilder::new(),
        c_name: StringBuilder::new(),
        c_company: StringBuilder::new(),
        c_country: Vec::new(),
        c_industry: Vec::new(),
        c_channel: Vec::new(),
        c_segment: Vec::new(),
        c_age: Vec::new(),
        c_gender: Vec::new(),
        c_satisfaction: Vec::new(),
        o_customer: StringBuilder::with_capacity(n * 4, n * 4 * 8),
        o_ts: Vec::with_capacity(n * 4),
        o_amount: Vec::with_capacity(n * 4),
        o_channel: Vec::with_capacity(n * 4),
        o_status: Vec::with_capacity(n * 4),
        l_order: Vec::new(),
        l_product: StringBuilder::new(),
        l_quantity: Vec::new(),
        l_price: Vec::new(),
        d_created: Vec::new(),
        d_stage: Vec::new(),
        d_amount: Vec::new(),
        d_customer: StringBuilder::new(),
        d_pipeline: Vec::new(),
        d_owner: Vec::new(),
        d_source: Vec::new(),
        d_closed: Vec::new(),
        d_status: Vec::new(),
        d_lost: Vec::new(),
        s_deal: Vec::new(),
        s_stage: Vec::new(),
        s_ts: Vec::new(),
        u_customer: StringBuilder::new(),
        u_started: Vec::new(),
        u_mrr: Vec::new(),
        u_ended: Vec::new(),
        u_plan: Vec::new(),
        e_customer: StringBuilder::new(),
        e_ts: Vec::new(),
        e_kind: Vec::new(),
        e_duration: Vec::new(),
        e_value: Vec::new(),
        x_variant: Vec::new(),
        x_customer: StringBuilder::new(),
        x_converted: Vec::new(),
        x_revenue: Vec::new(),
        cell_customers: vec![0; WEEKS * PAID_CELLS],
        cell_revenue: vec![0; WEEKS * PAID_CELLS],
        purchases: Vec::new(),
        rows: Vec::new(),
        lines: Vec::new(),
        events: Vec::new(),
    };
    let times = acquisition_times(ctx, first, last);
    for (offset, (created, week)) in times.into_iter().enumerate() {
        let index = first + offset as u64;
        let id = format!("C{:07}", index + 1);
        g.customer(&id, index, created, week);
    }
    g.finish(n as u64)
}

/// Acquisition times (sorted within each week, hence by customer number) and
/// weeks of customers `first..last`.
fn acquisition_times(ctx: &Ctx<'_>, first: u64, last: u64) -> Vec<(i64, usize)> {
    let plan = ctx.plan;
    let mut out = Vec::with_capacity((last - first) as usize);
    let mut i = first;
    let mut w = plan.week_of(first);
    while i < last && w < WEEKS {
        let start = plan.week_offsets[w];
        let count = plan.week_count(w);
        let end = (start + count).min(last);
        if count > 0 && end > i {
            let mut rng = stream(ctx.seed, "acquisition_week", w as u64);
            let mut u: Vec<u64> = (0..count).map(|_| rng.random()).collect();
            u.sort_unstable();
            for &x in &u[(i - start) as usize..(end - start) as usize] {
                let unit = (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                out.push((ctx.cal.time_in_week(w, unit), w));
            }
            i = end;
        }
        w += 1;
    }
    out
}

impl Gen<'_> {
    fn customer(&mut self, id: &str, index: u64, created: i64, week: usize) {
        let ctx = self.ctx;
        let cell = pick_cdf(&mut self.r_cells, &ctx.plan.cell_cdf[week]);
        let (channel, segment) = cell_channel(cell);

        // Latent buy-till-you-die parameters.
        let lambda = ctx.dists.lambda.sample(&mut self.r_orders) / BGNBD_ALPHA;
        let dropout = ctx.dists.dropout.sample(&mut self.r_orders);
        self.orders(id, created, segment, lambda, dropout);

        if cell < PAID_CELLS {
            let i = week * PAID_CELLS + cell;
            self.cell_customers[i] += 1;
            let horizon = created + ATTRIBUTION_DAYS * DAY;
            self.cell_revenue[i] += self
                .rows
                .iter()
                .filter(|r| r.status == Status::Completed && r.ts < horizon)
                .map(|r| r.cents)
                .sum::<i64>();
        }
        if !ctx.full {
            return;
        }
        self.attributes(id, index, created, (channel, segment), dropout);
        let subscription = self.subscription(id, created);
        self.deals(id, created, segment);
        self.events(id, created, subscription);
        self.experiment(id);
    }

    /// The BG/NBD purchase process plus refunds and cancellations; fills
    /// `self.rows` (sorted by time) and appends to the order columns.
    fn orders(&mut self, id: &str, created: i64, segment: usize, lambda: f64, dropout: f64) {
        let ctx = self.ctx;
        let cal = ctx.cal;
        let r = &mut self.r_orders;
        self.purchases.clear();
        let first = (created + exp_secs(r, FIRST_ORDER_DELAY_S)).min(LAST);
        self.purchases.push(first);
        // Repeat purchases: a Poisson process with rate lambda * s(t), s the
        // hourly seasonality, simulated by thinning; after each repeat
        // purchase the customer drops out with probability `dropout`.
        if lambda > 0.0 {
            let envelope = lambda * cal.purchase_max / DAY as f64; // per second
            let mut t = first as f64;
            loop {
                let e: f64 = r.sample(Exp1);
                t += e / envelope;
                if t >= END as f64 {
                    break;
                }
                let ts = t as i64;
                if r.random::<f64>() * cal.purchase_max >= cal.purchase_at(ts) {
                    continue;
                }
                self.purchases.push(ts);
                if r.random::<f64>() < dropout {
                    break;
                }
            }
        }

        // Per-customer mean spend (Gamma-Gamma).
        let nu = ctx.dists.nu.sample(&mut self.r_amounts) / GG_GAMMA;
        let scale = 1.0 / nu.max(1e-9);

        self.rows.clear();
        self.lines.clear();
        for j in 0..self.purchases.len() {
            let ts = self.purchases[j];
            let channel = pick_pair(&mut self.r_orders, &ORDER_CHANNELS[segment]);
            let (cents, lines) = self.amount(scale, ts);
            self.rows.push(OrderRow {
                ts,
                status: Status::Completed,
                channel,
                cents,
                lines,
            });
            let r = &mut self.r_orders;
            if r.random::<f64>() < CANCEL_PROB {
                let at = ts + r.random_range(600..3 * DAY);
                let channel = pick_pair(r, &ORDER_CHANNELS[segment]);
                if at < END {
                    let (cents, lines) = self.amount(scale, at);
                    self.rows.push(OrderRow {
                        ts: at,
                        status: Status::Cancelled,
                        channel,
                        cents,
                        lines,
                    });
                }
            }
            let r = &mut self.r_orders;
            if r.random::<f64>() < REFUND_PROB {
                let at = ts + DAY + exp_secs(r, 6.0 * DAY as f64);
                if at < END {
                    self.rows.push(OrderRow {
                        ts: at,
                        status: Status::Refunded,
                        channel,
                        cents: -cents,
                        lines: (0, 0),
                    });
                }
            }
        }
        self.rows.sort_by_key(|r| r.ts);

        for row in &self.rows {
            let local = self.o_ts.len() as u32;
            self.o_customer.append_value(id);
            self.o_ts.push(micros(row.ts));
            self.o_amount.push(dollars(row.cents));
            self.o_channel.push(row.channel);
            self.o_status.push(row.status.name());
            let (start, len) = row.lines;
            for line in &self.lines[start..start + len] {
                self.l_order.push(local);
                self.l_product.append_value(&ctx.catalog.ids[line.product]);
                self.l_quantity.push(line.quantity);
                self.l_price.push(dollars(line.unit_cents));
            }
        }
    }

    /// An order value: a Gamma-Gamma draw (orders only) or a basket aimed at
    /// one (full mode). Returns cents and the range of its lines in `self.lines`.
    fn amount(&mut self, scale: f64, ts: i64) -> (i64, (usize, usize)) {
        let ctx = self.ctx;
        let target = ctx.dists.spend.sample(&mut self.r_amounts) * scale;
        if ctx.full {
            let start = self.lines.len();
            let discount = ctx.cal.is_discount(ts);
            let cents = ctx
                .catalog
                .basket(target, discount, &mut self.r_amounts, &mut self.lines);
            (cents, (start, self.lines.len() - start))
        } else {
            (to_cents(target).max(1), (0, 0))
        }
    }

    fn attributes(
        &mut self,
        id: &str,
        index: u64,
        created: i64,
        (channel, segment): (&'static str, usize),
        dropout: f64,
    ) {
        let r = &mut self.r_customers;
        let u = r.random::<f64>();
        let (gender, firsts) = if u < 0.48 {
            ("F", names::FIRST_F)
        } else if u < 0.96 {
            ("M", names::FIRST_M)
        } else {
            ("X", names::FIRST_X)
        };
        let first = firsts[r.random_range(0..firsts.len())];
        let last = names::LAST[r.random_range(0..names::LAST.len())];
        let country = pick_by(r, names::COUNTRIES, |c| c.2);
        let a = names::COMPANY_A[r.random_range(0..names::COMPANY_A.len())];
        let b = names::COMPANY_B[r.random_range(0..names::COMPANY_B.len())];
        let industry = pick_pair(r, names::INDUSTRIES);
        let z: f64 = r.sample(StandardNormal);
        let age = (38.0 + 11.0 * z).round().clamp(18.0, 80.0) as i64;
        let z: f64 = r.sample(StandardNormal);
        // Loyal customers (low dropout probability) are more satisfied.
        let satisfaction = ((4.3 - 2.5 * dropout + 0.55 * z).clamp(1.0, 5.0) * 10.0).round() / 10.0;

        self.c_id.append_value(id);
        self.c_created.push(micros(created));
        self.c_email.append_value(format!(
            "{}.{}{}@example.com",
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase(),
            index + 1
        ));
        self.c_name.append_value(format!("{first} {last}"));
        self.c_company
            .append_value(format!("{a} {b} {}", country.1));
        self.c_country.push(country.0);
        self.c_industry.push(industry);
        self.c_channel.push(channel);
        self.c_segment.push(SEGMENTS[segment]);
        self.c_age.push(age);
        self.c_gender.push(gender);
        self.c_satisfaction.push(satisfaction);
    }

    /// A subscription for some customers; returns its start time.
    fn subscription(&mut self, id: &str, created: i64) -> Option<i64> {
        let r = &mut self.r_subs;
        if r.random::<f64>() >= SUBSCRIPTION_PROB {
            return None;
        }
        let started = created + exp_secs(r, 21.0 * DAY as f64);
        if started >= END {
            return None;
        }
        let &(plan, list, _) = pick_by(r, &PLANS, |p| p.2);
        let annual = r.random::<f64>() < 0.2;
        let mrr = if annual { (list * 85 + 50) / 100 } else { list };
        // Shifted-beta-geometric: a fixed monthly churn probability per subscriber.
        let theta = self.ctx.dists.churn.sample(r);
        let mut ended = None;
        for k in 1.. {
            let Some(renewal) = add_months(started, k) else {
                break;
            };
            if renewal > LAST {
                break;
            }
            if r.random::<f64>() < theta {
                ended = Some(micros(renewal));
                break;
            }
        }
        self.u_customer.append_value(id);
        self.u_started.push(micros(started));
        self.u_mrr.push(dollars(mrr));
        self.u_ended.push(ended);
        self.u_plan.push(plan);
        Some(started)
    }

    fn deals(&mut self, id: &str, created: i64, segment: usize) {
        let (p_new, p_expansion) = if segment == 0 {
            (0.055, 0.012)
        } else {
            (0.17, 0.05)
        };
        if self.r_deals.random::<f64>() < p_new {
            let at = created + exp_secs(&mut self.r_deals, 3.0 * DAY as f64);
            self.deal(id, at, segment, false);
        }
        if self.r_deals.random::<f64>() < p_expansion {
            let at = created + 30 * DAY + exp_secs(&mut self.r_deals, 120.0 * DAY as f64);
            self.deal(id, at, segment, true);
        }
    }

    fn deal(&mut self, id: &str, created: i64, segment: usize, expansion: bool) {
        if created > LAST - DAY {
            return;
        }
        let r = &mut self.r_deals;
        let local = self.d_created.len() as u32;
        let owner = r.random_range(0..names::OWNERS.len());
        let source = pick_weighted(r, &SOURCES.map(|s| s.1));
        let median = if segment == 0 { 2_400.0 } else { 14_000.0 };
        let median = if expansion { median * 0.5 } else { median };
        let amount = log_normal(r, median, 0.6).round().max(100.0);
        let skip = if r.random::<f64>() < STAGE_SKIP_PROB {
            Some(if r.random::<bool>() { 1 } else { 2 })
        } else {
            None
        };

        let mut t = created;
        let mut stage = 0;
        self.s_deal.push(local);
        self.s_stage.push(STAGES[0]);
        self.s_ts.push(micros(t));
        let mut end = None; // (stage, time, lost reason)
        loop {
            let days = log_normal(r, STAGE_MEDIAN_DAYS[stage], STAGE_SIGMA);
            let next_t = t + (days * DAY as f64) as i64 + 1;
            if next_t > LAST {
                break;
            }
            let mut pass = STAGE_PASS[stage];
            if stage == 0 {
                pass *= SOURCE_EFFECT[source];
            }
            if stage == 3 {
                pass *= names::OWNERS[owner].1;
            }
            if r.random::<f64>() >= pass.min(0.95) {
                let reason = pick_pair(r, &LOST_REASONS[stage]);
                end = Some((LOST, next_t, Some(reason)));
                break;
            }
            let mut next = stage + 1;
            if skip == Some(next) {
                next += 1;
            }
            t = next_t;
            if next == WON {
                end = Some((WON, t, None));
                break;
            }
            stage = next;
            self.s_deal.push(local);
            self.s_stage.push(STAGES[stage]);
            self.s_ts.push(micros(t));
        }
        let (current, closed, status, reason) = match end {
            Some((s, at, reason)) => {
                self.s_deal.push(local);
                self.s_stage.push(STAGES[s]);
                self.s_ts.push(micros(at));
                let status = if s == WON { "won" } else { "lost" };
                (STAGES[s], Some(micros(at)), status, reason)
            }
            None => (STAGES[stage], None, "open", None),
        };
        self.d_created.push(micros(created));
        self.d_stage.push(current);
        self.d_amount.push(amount);
        self.d_customer.append_value(id);
        self.d_pipeline.push(if expansion {
            "expansion"
        } else {
            "new business"
        });
        self.d_owner.push(names::OWNERS[owner].0);
        self.d_source.push(SOURCES[source].0);
        self.d_closed.push(closed);
        self.d_status.push(status);
        self.d_lost.push(reason);
    }

    /// Web events: visits and page views before sign-up, the sign-up, a trial
    /// start for subscribers (and some others), and one purchase event per
    /// completed order.
    fn events(&mut self, id: &str, created: i64, subscription: Option<i64>) {
        let dists = self.ctx.dists;
        let r = &mut self.r_events;
        self.events.clear();
        let visits = 1 + dists.visits.sample(r) as usize;
        // Seconds between the data start and sign-up: visits that would fall
        // before the data start are spread over that interval instead.
        let room = (created - START).max(1);
        for v in 0..visits {
            let before = if v + 1 == visits {
                r.random_range(120..1_800)
            } else {
                r.random_range(3_600..14 * DAY)
            };
            let at = if before < room {
                created - before
            } else {
                START + r.random_range(0..room)
            };
            let duration = (log_normal(r, 240.0, 0.8) * 10.0).round() / 10.0;
            self.events.push((at, "visit", duration, None));
            let pages = 1 + dists.page_views.sample(r) as usize;
            let mut t = at;
            for _ in 0..pages {
                t = (t + r.random_range(5..120)).min(LAST);
                let duration = (log_normal(r, 35.0, 0.9) * 10.0).round() / 10.0;
                self.events.push((t, "page_view", duration, None));
            }
        }
        let duration = (log_normal(r, 75.0, 0.5) * 10.0).round() / 10.0;
        self.events.push((created, "signup", duration, None));
        let trial = match subscription {
            Some(started) => {
                let at = started - 14 * DAY;
                Some(if at >= created {
                    at
                } else {
                    created + (started - created) / 2
                })
            }
            None if r.random::<f64>() < 0.12 => {
                Some(created + exp_secs(r, 4.0 * DAY as f64)).filter(|&t| t < END)
            }
            None => None,
        };
        if let Some(at) = trial {
            let duration = (log_normal(r, 90.0, 0.5) * 10.0).round() / 10.0;
            self.events.push((at, "trial_start", duration, None));
        }
        for row in self.rows.iter().filter(|o| o.status == Status::Completed) {
            let duration = (log_normal(r, 150.0, 0.6) * 10.0).round() / 10.0;
            self.events
                .push((row.ts, "purchase", duration, Some(dollars(row.cents))));
        }
        self.events.sort_by_key(|e| e.0);
        for &(at, kind, duration, value) in &self.events {
            self.e_customer.append_value(id);
            self.e_ts.push(micros(at));
            self.e_kind.push(kind);
            self.e_duration.push(duration);
            self.e_value.push(value);
        }
    }

    fn experiment(&mut self, id: &str) {
        let r = &mut self.r_exp;
        if r.random::<f64>() >= EXPERIMENT_SHARE {
            return;
        }
        let treatment = r.random::<bool>();
        let rate = if treatment {
            EXPERIMENT_TREATMENT_RATE
        } else {
            EXPERIMENT_CONTROL_RATE
        };
        let converted = r.random::<f64>() < rate;
        let revenue = if converted {
            dollars(to_cents(self.ctx.dists.revenue.sample(r)).max(100))
        } else {
            0.0
        };
        self.x_variant
            .push(if treatment { "treatment" } else { "control" });
        self.x_customer.append_value(id);
        self.x_converted.push(converted);
        self.x_revenue.push(revenue);
    }

    fn finish(mut self, customers: u64) -> ChunkOut {
        let orders = self.o_ts.len() as u64;
        let deals = self.d_created.len() as u64;
        let mut tables = Vec::new();
        let order_columns: Vec<ArrayRef> = vec![
            Arc::new(self.o_customer.finish()),
            ts_array(self.o_ts),
            Arc::new(Float64Array::from(self.o_amount)),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                "USD",
                orders as usize,
            ))),
            str_array(self.o_channel),
            str_array(self.o_status),
        ];
        tables.push(Pending {
            table: Table::Orders,
            columns: order_columns,
            id: Some(IdFill {
                column: 1,
                kind: IdKind::Order,
                local: None,
            }),
        });
        if self.ctx.full {
            tables.push(Pending {
                table: Table::OrderLines,
                columns: vec![
                    Arc::new(self.l_product.finish()),
                    Arc::new(Int64Array::from(self.l_quantity)),
                    Arc::new(Float64Array::from(self.l_price)),
                ],
                id: Some(IdFill {
                    column: 0,
                    kind: IdKind::Order,
                    local: Some(self.l_order),
                }),
            });
            tables.push(Pending {
                table: Table::Customers,
                columns: vec![
                    Arc::new(self.c_id.finish()),
                    ts_array(self.c_created),
                    Arc::new(self.c_email.finish()),
                    Arc::new(self.c_name.finish()),
                    Arc::new(self.c_company.finish()),
                    str_array(self.c_country),
                    str_array(self.c_industry),
                    str_array(self.c_channel),
                    str_array(self.c_segment),
                    Arc::new(Int64Array::from(self.c_age)),
                    str_array(self.c_gender),
                    Arc::new(Float64Array::from(self.c_satisfaction)),
                ],
                id: None,
            });
            tables.push(Pending {
                table: Table::Deals,
                columns: vec![
                    ts_array(self.d_created),
                    str_array(self.d_stage),
                    Arc::new(Float64Array::from(self.d_amount)),
                    Arc::new(self.d_customer.finish()),
                    str_array(self.d_pipeline),
                    str_array(self.d_owner),
                    str_array(self.d_source),
                    opt_ts_array(self.d_closed),
                    str_array(self.d_status),
                    Arc::new(StringArray::from(self.d_lost)),
                ],
                id: Some(IdFill {
                    column: 0,
                    kind: IdKind::Deal,
                    local: None,
                }),
            });
            tables.push(Pending {
                table: Table::StageEvents,
                columns: vec![str_array(self.s_stage), ts_array(self.s_ts)],
                id: Some(IdFill {
                    column: 0,
                    kind: IdKind::Deal,
                    local: Some(self.s_deal),
                }),
            });
            tables.push(Pending {
                table: Table::Subscriptions,
                columns: vec![
                    Arc::new(self.u_customer.finish()),
                    ts_array(self.u_started),
                    Arc::new(Float64Array::from(self.u_mrr)),
                    opt_ts_array(self.u_ended),
                    str_array(self.u_plan),
                ],
                id: None,
            });
            tables.push(Pending {
                table: Table::Events,
                columns: vec![
                    Arc::new(self.e_customer.finish()),
                    ts_array(self.e_ts),
                    str_array(self.e_kind),
                    Arc::new(Float64Array::from(self.e_duration)),
                    Arc::new(Float64Array::from(self.e_value)),
                ],
                id: None,
            });
            let n = self.x_variant.len();
            tables.push(Pending {
                table: Table::Experiments,
                columns: vec![
                    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                        "free_trial_2025",
                        n,
                    ))),
                    str_array(self.x_variant),
                    Arc::new(self.x_customer.finish()),
                    Arc::new(BooleanArray::from(self.x_converted)),
                    Arc::new(Float64Array::from(self.x_revenue)),
                ],
                id: None,
            });
        }
        ChunkOut {
            customers,
            orders,
            deals,
            tables,
            cell_customers: self.cell_customers,
            cell_revenue: self.cell_revenue,
        }
    }
}
