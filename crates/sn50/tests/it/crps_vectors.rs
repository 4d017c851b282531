//! §6.2: `tests/test_calculate_crps.py` vectors, with exact `==` on f64.

use sn50::crps::{crps_for_miner, label_observed_blocks, miner_score};
use sn50::{PathSet, HIGH, LOW};

const NAN: f64 = f64::NAN;

fn sims(rows: &[&[f64]]) -> PathSet {
    PathSet::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
}

fn low(rows: &[&[f64]], real: &[f64]) -> f64 {
    miner_score(&sims(rows), real, 300, LOW.scoring_intervals)
}

const P9: &[f64] = &[50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 120.0, 130.0];
const R_GAPPY: &[f64] = &[50.0, 60.0, NAN, 80.0, 90.0, NAN, NAN, 120.0, 130.0];

#[test]
fn totals_1_to_4() {
    let r = low(
        &[&[90000.0, 91000.0, 92000.0], &[90000.0, 91000.0, 92000.0]],
        &[92600.0, 92500.0, 93500.0],
    );
    assert_eq!(r, 284.1200564488584);
    let r = low(
        &[&[900.0, 910.0, 920.0], &[900.0, 910.0, 920.0]],
        &[926.0, 925.0, 935.0],
    );
    assert_eq!(r, 284.1200564488584);
    assert_eq!(low(&[&[50.0, 60.0, 70.0]], &[50.0, 60.0, 70.0]), 0.0);
    let r = low(
        &[&[90000.0, 91000.0, 92000.0, 92500.0, 92600.0]],
        &[92600.0, 92500.0, 92600.0, 92500.0, 93500.0],
    );
    assert_eq!(r, 479.6904902048716);
    assert_eq!(
        low(
            &[&[50000.0, 51000.0, 52000.0]],
            &[92600.0, 92500.0, 93500.0]
        ),
        4737.272133130346
    );
    let r = low(
        &[
            &[50000.0, 51000.0, 52000.0],
            &[10000.0, 70000.0, 50000.0],
            &[90000.0, 70000.0, 50000.0],
        ],
        &[105165.69445825, 105016.21888945, 105066.94377502],
    );
    assert_eq!(r, 13413.599141058676);
}

#[test]
fn nan_blocks_5_to_9() {
    assert_eq!(low(&[P9], R_GAPPY), 0.0);
    assert_eq!(
        low(
            &[P9],
            &[NAN, 60.0, 70.0, NAN, 90.0, 100.0, 110.0, 120.0, NAN]
        ),
        0.0
    );
    assert_eq!(low(&[P9], &[NAN; 9]), 0.0);
    let p = [55.0, 64.0, 70.0, 82.5, 89.2, 100.0, 110.0, 123.5, 131.2];
    assert_eq!(low(&[&p], R_GAPPY), 1103.6743957796587);
    assert_eq!(low(&[&p], P9), 4607.816958498454);
}

#[test]
fn nan_in_prediction_and_extremes_10_to_13() {
    let r = low(
        &[&[50.0, 60.0, NAN, 80.0, 90.0, 92.0, 98.0, 120.0, 130.0]],
        &[55.0, 64.0, 70.0, 82.5, 89.2, 100.0, 110.0, 123.5, 131.2],
    );
    assert_eq!(r, -1.0, "NaN total scores -1");
    let c = crps_for_miner(
        &sims(&[&[50.0, 60.0, NAN, 80.0, 90.0, 92.0, 98.0, 120.0, 130.0]]),
        &[55.0, 64.0, 70.0, 82.5, 89.2, 100.0, 110.0, 123.5, 131.2],
        300,
        LOW.scoring_intervals,
    )
    .unwrap();
    assert!(c.total.is_nan());
    let p11 = [55.0, 64.0, 70.0, 82.5, 89.2, 100.0, 110.0, 123.0, 131.0];
    assert_eq!(low(&[&p11], R_GAPPY), 1061.3650577065207);
    let big: f64 = "1303196869523179600000000000000000000000000000000000000000000000000000000000000000000000000"
        .parse()
        .unwrap();
    let p12 = [
        big,
        0.00011997788254371478,
        70.0,
        82.5,
        89.2,
        100.0,
        110.0,
        123.0,
        131.0,
    ];
    assert_eq!(low(&[&p12], R_GAPPY), 12697.728694070156);
    let p13 = [
        0.00011997788254371478,
        0.0,
        70.0,
        82.5,
        89.2,
        100.0,
        110.0,
        123.0,
        131.0,
    ];
    assert_eq!(low(&[&p13], R_GAPPY), -1.0);
    let real = [50.0, 60.0, 65.0, 80.0, 90.0, 94.0, 101.0, 120.0, 130.0];
    assert_eq!(
        miner_score(&sims(&[&p13]), &real, 300, HIGH.scoring_intervals),
        -1.0
    );
}

#[test]
fn per_interval_breakdowns() {
    let c = crps_for_miner(
        &sims(&[&[90000.0, 91000.0, 92000.0], &[90000.0, 91000.0, 92000.0]]),
        &[92600.0, 92500.0, 93500.0],
        300,
        LOW.scoring_intervals,
    )
    .unwrap();
    let names: Vec<_> = c.intervals.iter().map(|i| i.name).collect();
    assert_eq!(names, ["5min", "24hour_abs"]);
    assert_eq!(
        c.intervals[0].points,
        [121.91024718022558, 1.7820017820017853]
    );
    assert_eq!(c.intervals[0].total, 123.69224896222737);
    assert_eq!(c.intervals[1].points, [160.42780748663102]);

    let c = crps_for_miner(
        &sims(&[&[90000.0, 91000.0, 92000.0, 92500.0, 92600.0]]),
        &[92600.0, 92500.0, 92600.0, 92500.0, 93500.0],
        300,
        LOW.scoring_intervals,
    )
    .unwrap();
    assert_eq!(
        c.intervals[0].points,
        [
            121.91024718022558,
            99.07929907929909,
            65.146962156071,
            97.2972972972973
        ]
    );
    assert_eq!(c.intervals[0].total, 383.433805712893);
    assert_eq!(c.intervals[1].points, [96.25668449197862]);

    let p = [55.0, 64.0, 70.0, 82.5, 89.2, 100.0, 110.0, 123.5, 131.2];
    let c = crps_for_miner(&sims(&[&p]), R_GAPPY, 300, LOW.scoring_intervals).unwrap();
    let names: Vec<_> = c.intervals.iter().map(|i| i.name).collect();
    assert_eq!(names, ["5min", "30min", "24hour_abs"]);
    assert_eq!(
        c.intervals[0].points,
        [363.63636363636374, 437.87878787878753, 209.85155195681602]
    );
    assert_eq!(c.intervals[0].total, 1011.3667034719673);
    assert_eq!(c.intervals[1].total, 0.0);
    assert!(c.intervals[1].points.is_empty());
    assert_eq!(c.intervals[2].points, [92.30769230769143]);
}

#[test]
fn observed_blocks() {
    let cases: &[(&[f64], &[i64])] = &[
        (&[1.0, 2.0, 3.0, 4.0], &[0, 0, 0, 0]),
        (&[NAN, NAN], &[-1, -1]),
        (
            &[1.0, 2.0, NAN, 4.0, NAN, NAN, 7.0, 8.0],
            &[0, 0, -1, 1, -1, -1, 2, 2],
        ),
        (&[NAN, 1.0, 2.0, NAN, 3.0], &[-1, 0, 0, -1, 1]),
        (&[1.0, 2.0, NAN, NAN], &[0, 0, -1, -1]),
        (&[1.0, NAN, 2.0, NAN, 3.0], &[0, -1, 1, -1, 2]),
        (&[NAN, NAN, 5.0, NAN], &[-1, -1, 0, -1]),
        (&[], &[]),
    ];
    for (x, want) in cases {
        assert_eq!(label_observed_blocks(x), *want);
    }
}

#[test]
fn gap_intervals_score_one_point() {
    // 61 points at 60 s: every `_gaps` interval has exactly one change, `5min` has 12.
    let real: Vec<f64> = (0..61)
        .map(|i| 80000.0 + (i as f64 * 0.7).sin() * 50.0)
        .collect();
    let rows: Vec<Vec<f64>> = (0..10)
        .map(|j| real.iter().map(|r| r + j as f64 * 3.0 + 1.0).collect())
        .collect();
    let c = crps_for_miner(
        &PathSet::from_rows(&rows).unwrap(),
        &real,
        60,
        HIGH.scoring_intervals,
    )
    .unwrap();
    assert_eq!(c.intervals.len(), 18);
    for iv in &c.intervals {
        let want = match iv.name {
            "1min" => 60,
            "2min" => 30,
            "5min" => 12,
            "15min" => 4,
            "30min" => 2,
            _ => 1,
        };
        assert_eq!(iv.points.len(), want, "{}", iv.name);
    }
    let gap10 = c
        .intervals
        .iter()
        .find(|i| i.name == "0_10min_gaps")
        .unwrap();
    let ten = &c.intervals[4];
    assert_ne!(gap10.total, ten.total);
}

#[test]
fn zero_step_scores_minus_one() {
    // HIGH intervals at a 300 s increment: `1min` has step int(60/300) = 0, numpy raises.
    let p = [50.0, 60.0, 65.0, 80.0, 90.0, 94.0, 101.0, 120.0, 130.0];
    assert_eq!(
        miner_score(&sims(&[&p]), &p, 300, HIGH.scoring_intervals),
        -1.0
    );
}
