//! §6.6: `tests/test_price_data_provider.py` price-grid and settlement vectors.

use sn50::grid::{check_settled, real_price_grid, realized_prices, GridError};

const START: i64 = 1739974320;
const NAN: f64 = f64::NAN;

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

fn minutes(from: i64, n: i64) -> Vec<i64> {
    (0..n).map(|k| from + 60 * k).collect()
}

#[test]
fn all_prices() {
    let c = [
        100000.23, 101000.55, 99000.55, 102000.55, 103000.55, 105000.55, 108000.867, 108500.0,
    ];
    let g = realized_prices(&minutes(START, 8), &c, START, 120, 360).unwrap();
    assert_eq!(g, [100000.23, 99000.55, 103000.55, 108000.867]);
}

#[test]
fn gaps() {
    let t = [START, 1739974620, 1739974680, 1739974740];
    let c = [100000.23, 105000.55, 108000.867, 108500.0];
    assert!(same(
        &real_price_grid(&t, &c, START, 120, 360),
        &[100000.23, NAN, NAN, 108000.867]
    ));

    let t = [START, 1739974680, 1739974740];
    let c = [100000.23, 108000.867, 108500.0];
    let want = [100000.23, NAN, NAN, NAN, NAN, NAN, 108000.867];
    assert!(same(&real_price_grid(&t, &c, START, 60, 360), &want));

    let t = [
        START, 1739974680, 1739974740, 1739974800, 1739974860, 1739974920,
    ];
    let c = [
        100000.23, 108000.867, 99000.23, 97123.55, 105123.345, 107995.889,
    ];
    let want = [100000.23, NAN, NAN, 108000.867, 97123.55, 107995.889];
    assert!(same(&real_price_grid(&t, &c, START, 120, 540), &want));

    let t = [1739974680, 1739974740, 1739974800, 1739974860, 1739974920];
    let c = [108000.867, 99000.23, 97123.55, 105123.345, 107995.889];
    assert!(same(
        &real_price_grid(&t, &c, START, 120, 360),
        &[NAN, NAN, NAN, 108000.867]
    ));

    let c = [
        101000.55, 99000.55, 102000.55, 103000.55, 105000.55, 108000.867, 99000.23, 97123.55,
        105123.345, 107995.889, 108500.0,
    ];
    let g = real_price_grid(&minutes(1739974380, 11), &c, START, 300, 600);
    assert!(same(&g, &[NAN, 105000.55, 107995.889]));
}

#[test]
fn gap_in_middle_and_several_values() {
    let t: Vec<i64> = minutes(START, 12)
        .into_iter()
        .filter(|&t| t != 1739974620)
        .collect();
    let c = [
        100000.23, 101000.55, 99000.55, 102000.55, 103000.55, 108000.867, 108000.867, 99000.23,
        97123.55, 105123.345, 107995.889,
    ];
    assert!(same(
        &real_price_grid(&t, &c, START, 300, 600),
        &[100000.23, NAN, 105123.345]
    ));

    let c = [
        100000.23, 101000.55, 99000.55, 102000.55, 103000.55, 105000.55, 108000.867, 108000.867,
        99000.23, 97123.55, 105123.345, 107995.889,
    ];
    let g = real_price_grid(&minutes(START, 12), &c, START, 300, 600);
    assert_eq!(g, [100000.23, 105000.55, 105123.345]);
}

#[test]
fn pro_router_case() {
    let t = [START, 1739974440, 1739974560, 1739974680, 1739974740];
    let c = [100000.23, 99000.55, 103000.55, 108000.867, 108500.0];
    let g = realized_prices(&t, &c, START, 120, 360).unwrap();
    assert_eq!(g, [100000.23, 99000.55, 103000.55, 108000.867]);
}

#[test]
fn settlement_guard() {
    let t = [START, 1739974440, 1739974560, 1739974680];
    assert!(matches!(
        check_settled(&t, START, 360),
        Err(GridError::NotSettled {
            last_grid_time: 1739974680,
            latest: Some(1739974680)
        })
    ));
    assert!(check_settled(&[], START, 360).is_err());
    assert!(check_settled(&[START, 1739974740], START, 360).is_ok());
    // Settled, but the last grid point has no candle.
    let err = realized_prices(&[START, 1739974740], &[1.0, 2.0], START, 120, 360).unwrap_err();
    assert_eq!(err, GridError::MissingLast(1739974680));
    assert!(err
        .to_string()
        .starts_with("missing price data for the last timestamp"));
}
