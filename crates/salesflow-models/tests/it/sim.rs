//! A small deterministic random number generator for simulation tests (no `rand` needed):
//! splitmix64 for uniforms, Box-Muller normals, Marsaglia-Tsang gammas.

/// splitmix64 (Steele, Lea & Flood 2014): tiny, fast, passes BigCrush; plenty for tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1): 53 random bits, never exactly 0.
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    pub fn exponential(&mut self, rate: f64) -> f64 {
        -self.uniform().ln() / rate
    }

    /// Gamma(shape, rate): Marsaglia & Tsang (2000), with U^(1/shape) boosting for shape < 1.
    pub fn gamma(&mut self, shape: f64, rate: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform();
            return self.gamma(shape + 1.0, rate) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v / rate;
            }
        }
    }

    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a, 1.0);
        let y = self.gamma(b, 1.0);
        x / (x + y)
    }
}

#[test]
fn rng_moments_are_right() {
    let mut rng = Rng::new(7);
    let n = 200_000;
    let (mut s, mut s2) = (0.0, 0.0);
    for _ in 0..n {
        let g = rng.gamma(0.4, 2.0);
        s += g;
        s2 += g * g;
    }
    let mean = s / n as f64;
    let var = s2 / n as f64 - mean * mean;
    assert!((mean - 0.2).abs() < 0.005, "{mean}");
    assert!((var - 0.1).abs() < 0.01, "{var}");
    let b: f64 = (0..n).map(|_| rng.beta(2.0, 6.0)).sum::<f64>() / n as f64;
    assert!((b - 0.25).abs() < 0.003, "{b}");
}
