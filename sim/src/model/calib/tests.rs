//! The calibration file's costs: interpolation by size and sampling.

use super::*;

#[test]
fn sizes_interpolate_and_extrapolate_linearly() -> Result<()> {
    let mut c = Calibration::default();
    for (n, ms) in [(10, 1.0), (20, 2.0)] {
        c.ops.push(CalibOp {
            op: "scan".into(),
            n,
            count: 1,
            mean_ms: ms,
            quantiles_ms: vec![(0.0, ms), (1.0, ms)],
            cpu_mean_ms: Some(ms * n as f64 / 20.0),
        });
    }
    let cost = c.cost("scan", &BTreeMap::new())?;
    assert!((cost.mean(15) - 1.5e6).abs() < 1.0);
    assert!((cost.mean(40) - 4.0e6).abs() < 1.0);
    assert!(
        (cost.mean(1) - 1.0e6).abs() < 1.0,
        "below the smallest: flat"
    );
    let mut rng = crate::engine::rng_stream(1, 1);
    assert_eq!(cost.sample(15, &mut rng), 1_500_000);
    assert_eq!(cost.sample_many(40, 10, &mut rng), 40_000_000);
    assert!(c.cost("get", &BTreeMap::new()).is_err());
    let share = c.cpu_share("scan");
    assert!((share.at(10) - 0.5).abs() < 1e-12 && (share.at(20) - 1.0).abs() < 1e-12);
    assert!((share.at(15) - 0.75).abs() < 1e-12 && share.at(99) == 1.0);
    assert_eq!(c.cpu_share("blob-put"), CpuShare::flat(0.2));
    Ok(())
}

#[test]
fn builtin_round_trips_through_toml() -> Result<()> {
    let c = Calibration::builtin();
    let back: Calibration =
        toml::from_str(&c.to_toml()?).map_err(|e| invalid("calibration", e.to_string()))?;
    assert_eq!(back, c);
    for op in OP_KINDS {
        c.cost(op, &BTreeMap::new())?;
    }
    Ok(())
}
