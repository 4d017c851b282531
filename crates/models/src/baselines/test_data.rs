//! Synthetic 5-minute histories and LOW requests for the baselines' unit tests.

use market::{Candles, Provenance};

use sn50::PathSet;

use crate::{ForecastRequest, Forecaster};

/// `days` of 5-minute candles (from t = 0) whose log step is uniform with half-width
/// `half_width(day)` (a seeded splitmix64 stream), ranges ±0.05 % around the close.
pub(crate) fn candles_5m(days: usize, half_width: impl Fn(usize) -> f64) -> Candles {
    candles_at(300, days, half_width)
}

/// As [`candles_5m`], at `res` seconds per candle.
pub(crate) fn candles_at(res: u32, days: usize, half_width: impl Fn(usize) -> f64) -> Candles {
    let mut c = Candles::empty("BTC", res, Provenance::Synthetic);
    let per_day = 86_400 / res as usize;
    let mut p = 100.0f64;
    let mut z = 0x1234_5678u64;
    for k in 0..(days * per_day) {
        z = crate::rng::splitmix64(z);
        let u = (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        p *= (u * half_width(k / per_day)).exp();
        c.ts.push(k as i64 * i64::from(res));
        c.close.push(p);
    }
    c.open = c.close.clone();
    c.high = c.close.iter().map(|x| x * 1.0005).collect();
    c.low = c.close.iter().map(|x| x * 0.9995).collect();
    c
}

/// A LOW request (24 h at 5 minutes, 200 paths) at `start` on `h`, from the last close before it.
pub(crate) fn low_request(h: &Candles, start: i64, seed: u64) -> ForecastRequest<'_> {
    let i = h.index_at_or_after(start) - 1;
    ForecastRequest {
        asset: "BTC",
        history: h,
        start_price: h.close[i],
        start_time: start,
        time_increment: 300,
        time_length: 86_400,
        num_simulations: 200,
        seed,
        context: Default::default(),
    }
}

/// `m`'s answer to `req`, checked as every baseline's must be: `num_simulations` paths of
/// `n_points` positive finite prices starting at the start price, the same paths for the same
/// seed and others for another seed.
pub(crate) fn valid_and_seeded(m: &dyn Forecaster, req: &ForecastRequest<'_>) -> PathSet {
    let p = m.forecast(req).unwrap();
    let t = req.n_points();
    assert_eq!((p.n_paths(), p.n_points()), (req.num_simulations, t));
    assert!(p.as_flat().iter().all(|x| x.is_finite() && *x > 0.0));
    assert!(p.as_flat().chunks(t).all(|r| r[0] == req.start_price));
    assert_eq!(p.as_flat(), m.forecast(req).unwrap().as_flat());
    let other = ForecastRequest {
        seed: req.seed + 1,
        ..req.clone()
    };
    assert_ne!(p.as_flat(), m.forecast(&other).unwrap().as_flat());
    p
}
