//! Dictionary learners recover a planted dictionary on an easy instance from a perturbed init.

use dictlab::code::Omp;
use dictlab::learn::{AlternatingMinimization, Bcd, DictUpdate, Init, Ksvd, Mod, UnusedAtoms};
use dictlab::prelude::*;

fn easy() -> Instance {
    InstanceSpec::new(16, 32, 2000)
        .sparsity(2)
        .values(Values::SignedUniform { a: 1.0, b: 2.0 })
        .sample(42)
        .unwrap()
}

fn check<U: DictUpdate>(update: U) {
    let inst = easy();
    let name = update.name();
    let learner = AlternatingMinimization::new(Omp::with_sparsity(2), update).max_iters(30);
    let init = Init::NearTruth {
        truth: inst.dict.clone(),
        dist: 0.5,
    };
    let mut trace = dictlab::iter::Trace::with_metrics({
        let truth = inst.dict.clone();
        move |s: &dictlab::learn::LearnState, r: &mut dictlab::iter::Record| {
            r.set(
                "recovery_rate",
                metrics::dictionary_recovery(truth.view(), s.dict.view())
                    .unwrap()
                    .recovery_rate(0.99),
            );
        }
    });
    let out = learner
        .learn_observed(
            inst.y.view(),
            32,
            &init,
            1,
            dictlab::iter::Schedule::Every(1),
            &mut trace,
        )
        .unwrap();
    let r = metrics::recovery_metrics(inst.dict.view(), out.dict.view(), 0.99).unwrap();
    assert!(r.recovery_rate >= 0.95, "{name}: {r:?}");
    for c in out.dict.columns() {
        assert!(
            (c.dot(&c).sqrt() - 1.0).abs() < 1e-10,
            "{name}: atoms must stay unit-norm"
        );
    }
    let df = trace.to_frame().unwrap();
    let rates: Vec<f64> = dictlab::table::column_f64(&df, "recovery_rate")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert!(
        rates[0] < 0.5 && *rates.last().unwrap() >= 0.95,
        "{name}: {rates:?}"
    );
}

#[test]
fn mod_recovers_a_planted_dictionary() {
    check(Mod::default());
}

#[test]
fn ksvd_recovers_a_planted_dictionary() {
    check(Ksvd::exact());
}

#[test]
fn approximate_ksvd_recovers_a_planted_dictionary() {
    check(Ksvd::approximate());
}

#[test]
fn bcd_recovers_a_planted_dictionary() {
    check(Bcd { sweeps: 3 });
}

#[test]
fn unused_atoms_are_replaced_and_counted() {
    let inst = easy();
    // an init with a duplicated atom: one of the pair ends up unused and gets replaced
    let mut d0 = inst.dict.clone();
    let c0 = d0.column(0).to_owned();
    d0.column_mut(1).assign(&c0);
    let learner =
        AlternatingMinimization::new(Omp::with_sparsity(2), Ksvd::approximate()).max_iters(5);
    let out = learner
        .learn(inst.y.view(), 32, &Init::Given(d0.clone()), 3)
        .unwrap();
    assert!(out.replaced_atoms >= 1);
    let keep = AlternatingMinimization::new(Omp::with_sparsity(2), Ksvd::approximate())
        .max_iters(5)
        .unused(UnusedAtoms::Keep);
    assert_eq!(
        keep.learn(inst.y.view(), 32, &Init::Given(d0), 3)
            .unwrap()
            .replaced_atoms,
        0
    );
}

#[test]
fn learner_bad_input() {
    let inst = easy();
    let l = AlternatingMinimization::new(Omp::with_sparsity(2), Mod::default());
    let few = inst.y.slice(s![.., ..10]).to_owned();
    assert!(
        l.learn(few.view(), 32, &Init::RandomData, 0)
            .unwrap_err()
            .to_string()
            .contains("samples")
    );
    let mut nan = inst.y.clone();
    nan[(0, 0)] = f64::NAN;
    assert!(matches!(
        l.learn(nan.view(), 32, &Init::RandomData, 0),
        Err(Error::NonFinite { .. })
    ));
    let zeros = Array2::<f64>::zeros((16, 100));
    assert!(l.learn(zeros.view(), 32, &Init::RandomData, 0).is_err());
    assert!(
        l.learn(
            inst.y.view(),
            32,
            &Init::NearTruth {
                truth: inst.dict.clone(),
                dist: 3.0
            },
            0
        )
        .is_err()
    );
}
