//! Price-grid vectors computed with the validator's own grid code.

use market::grid::{is_settled, prompt_prices, real_price_grid};
use market::{Candles, Provenance};

const START: i64 = 1_739_974_320; // 2025-02-19T14:12:00Z

fn same(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g == w || (g.is_nan() && w.is_nan()), "{got:?} vs {want:?}");
    }
}

fn every_minute(from: i64, n: i64) -> Vec<i64> {
    (0..n).map(|k| from + 60 * k).collect()
}

const N: f64 = f64::NAN;

#[test]
fn all_prices() {
    let c = [
        100000.23, 101000.55, 99000.55, 102000.55, 103000.55, 105000.55, 108000.867, 108500.0,
    ];
    let got = real_price_grid(&every_minute(START, 8), &c, START, 120, 360);
    same(&got, &[100000.23, 99000.55, 103000.55, 108000.867]);
}

#[test]
fn gap_cases() {
    let t = [START, 1_739_974_620, 1_739_974_680, 1_739_974_740];
    let c = [100000.23, 105000.55, 108000.867, 108500.0];
    same(
        &real_price_grid(&t, &c, START, 120, 360),
        &[100000.23, N, N, 108000.867],
    );

    let t = [START, 1_739_974_680, 1_739_974_740];
    let c = [100000.23, 108000.867, 108500.0];
    same(
        &real_price_grid(&t, &c, START, 60, 360),
        &[100000.23, N, N, N, N, N, 108000.867],
    );

    let t = [
        START,
        1_739_974_680,
        1_739_974_740,
        1_739_974_800,
        1_739_974_860,
        1_739_974_920,
    ];
    let c = [
        100000.23, 108000.867, 99000.23, 97123.55, 105123.345, 107995.889,
    ];
    same(
        &real_price_grid(&t, &c, START, 120, 540),
        &[100000.23, N, N, 108000.867, 97123.55, 107995.889],
    );
}

#[test]
fn gap_from_start_cases() {
    let t = [
        1_739_974_680,
        1_739_974_740,
        1_739_974_800,
        1_739_974_860,
        1_739_974_920,
    ];
    let c = [108000.867, 99000.23, 97123.55, 105123.345, 107995.889];
    same(
        &real_price_grid(&t, &c, START, 120, 360),
        &[N, N, N, 108000.867],
    );

    let c = [
        101000.55, 99000.55, 102000.55, 103000.55, 105000.55, 108000.867, 99000.23, 97123.55,
        105123.345, 107995.889, 108500.0,
    ];
    let got = real_price_grid(&every_minute(1_739_974_380, 11), &c, START, 300, 600);
    same(&got, &[N, 105000.55, 107995.889]);
}

#[test]
fn gap_in_middle_and_several_values() {
    let t: Vec<i64> = every_minute(START, 12)
        .into_iter()
        .filter(|&x| x != 1_739_974_620)
        .collect();
    let c = [
        100000.23, 101000.55, 99000.55, 102000.55, 103000.55, 108000.867, 108000.867, 99000.23,
        97123.55, 105123.345, 107995.889,
    ];
    same(
        &real_price_grid(&t, &c, START, 300, 600),
        &[100000.23, N, 105123.345],
    );

    let c = [
        100000.23, 101000.55, 99000.55, 102000.55, 103000.55, 105000.55, 108000.867, 108000.867,
        99000.23, 97123.55, 105123.345, 107995.889,
    ];
    let got = real_price_grid(&every_minute(START, 12), &c, START, 300, 600);
    same(&got, &[100000.23, 105000.55, 105123.345]);
}

#[test]
fn pro_url_case_and_settlement_guard() {
    let t = [
        START,
        1_739_974_440,
        1_739_974_560,
        1_739_974_680,
        1_739_974_740,
    ];
    let c = [100000.23, 99000.55, 103000.55, 108000.867, 108500.0];
    same(
        &real_price_grid(&t, &c, START, 120, 360),
        &[100000.23, 99000.55, 103000.55, 108000.867],
    );
    assert!(!is_settled(&t[..4], START, 360));
    assert!(!is_settled(&[], START, 360));
    assert!(is_settled(&t, START, 360));
    assert!(real_price_grid(&[], &[], START, 120, 360).is_empty());
}

#[test]
fn prompt_prices_from_candles() {
    let t = [
        START,
        1_739_974_440,
        1_739_974_560,
        1_739_974_680,
        1_739_974_740,
    ];
    let cl = vec![100000.23, 99000.55, 103000.55, 108000.867, 108500.0];
    let mut c = Candles::empty("BTC", 60, Provenance::Real);
    c.ts = t.to_vec();
    c.open = cl.clone();
    c.high = cl.clone();
    c.low = cl.clone();
    c.close = cl;
    same(
        &prompt_prices(&c, START, 120, 360).unwrap(),
        &[100000.23, 99000.55, 103000.55, 108000.867],
    );
    let unsettled = c.slice_time(0, 1_739_974_740);
    let e = prompt_prices(&unsettled, START, 120, 360).unwrap_err();
    assert!(e.to_string().contains("not yet settled"), "{e}");
    let mut holed = c.clone();
    holed.ts[3] = START + 420; // settled, but the last grid time START + 360 is missing
    let e = prompt_prices(&holed, START, 120, 360).unwrap_err();
    assert!(
        e.to_string()
            .contains("missing price data for the last timestamp"),
        "{e}"
    );
}
