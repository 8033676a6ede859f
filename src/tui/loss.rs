//! The loss curve as the cockpit keeps it — raw and smoothed training loss and validation
//! loss — and how worried each verdict looks. The verdict itself is
//! [`crate::eval::curve`]'s, shared with `report.md`.

pub use crate::eval::curve::Health;
use crate::eval::curve::{verdict, Ema};

/// Points kept before the history halves its resolution (a long run stays cheap to draw).
const CAP: usize = 4000;

/// A run's loss history: `(step, value)` pairs in step order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossHistory {
    train: Vec<(f64, f64)>,
    smooth: Vec<(f64, f64)>,
    val: Vec<(f64, f64)>,
    probe: Vec<(f64, f64)>,
    best_step: Option<u64>,
    ema: Ema,
}

impl LossHistory {
    /// Adds a training loss; non-finite values are kept (the verdict must see them) but do
    /// not poison the smoothed curve.
    pub fn push_train(&mut self, step: u64, loss: f64) {
        let smooth = self.ema.push(loss);
        self.train.push((step as f64, loss));
        self.smooth.push((step as f64, smooth));
        if self.train.len() > CAP {
            // Halve the resolution rather than drop the start: the whole run stays visible.
            self.train = self.train.iter().copied().step_by(2).collect();
            self.smooth = self.smooth.iter().copied().step_by(2).collect();
        }
    }

    /// Adds a validation loss.
    pub fn push_val(&mut self, step: u64, loss: f64) {
        self.val.push((step as f64, loss));
    }

    /// Adds a forgetting-probe perplexity (`probe_ppl`).
    pub fn push_probe(&mut self, step: u64, ppl: f64) {
        self.probe.push((step as f64, ppl));
    }

    /// Records the step whose validation loss is the best so far.
    pub fn set_best_step(&mut self, step: u64) {
        self.best_step = Some(step);
    }

    /// The history up to and including `step`: what a run continued from its checkpoint at
    /// `step` keeps (the steps after it are trained again).
    pub fn until(&self, step: u64) -> LossHistory {
        let mut kept = LossHistory::default();
        let upto = step as f64;
        for &(s, loss) in self.train.iter().filter(|p| p.0 <= upto) {
            kept.push_train(s as u64, loss);
        }
        kept.val = self.val.iter().copied().filter(|p| p.0 <= upto).collect();
        kept.probe = self.probe.iter().copied().filter(|p| p.0 <= upto).collect();
        kept.best_step = self.best_step.filter(|&b| b <= step);
        kept
    }

    /// Raw training loss points.
    pub fn train(&self) -> &[(f64, f64)] {
        &self.train
    }

    /// Smoothed (EMA) training loss points.
    pub fn smoothed(&self) -> &[(f64, f64)] {
        &self.smooth
    }

    /// Validation loss points.
    pub fn val(&self) -> &[(f64, f64)] {
        &self.val
    }

    /// Forgetting-probe points.
    pub fn probe(&self) -> &[(f64, f64)] {
        &self.probe
    }

    /// The step whose validation loss is the best so far, once the trainer said.
    pub fn best_step(&self) -> Option<u64> {
        self.best_step
    }

    /// The latest smoothed training loss.
    pub fn last_smoothed(&self) -> Option<f64> {
        self.smooth.last().map(|p| p.1)
    }

    /// The verdict on the curve so far.
    pub fn health(&self) -> Health {
        let raw: Vec<f64> = self.train.iter().map(|p| p.1).collect();
        let val: Vec<f64> = self.val.iter().map(|p| p.1).collect();
        verdict(&raw, &val)
    }
}

/// How worried to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mood {
    /// Nothing to judge yet.
    Neutral,
    /// Healthy.
    Good,
    /// Worth a look.
    Warn,
    /// Stop and fix something.
    Bad,
}

impl Mood {
    /// How worried `health` looks: a healthy curve is never a warning.
    pub fn of(health: Health) -> Mood {
        match health {
            Health::Waiting => Mood::Neutral,
            Health::SmoothDescent => Mood::Good,
            Health::Plateau | Health::RollerCoaster | Health::Overfitting => Mood::Warn,
            Health::NaN | Health::SuspiciouslyZero | Health::Diverging => Mood::Bad,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gentle exponential descent from 2.0 towards 0.6.
    fn descent(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| 0.6 + 1.4 * (-(i as f64) / 15.0).exp())
            .collect()
    }

    #[test]
    fn until_keeps_the_points_up_to_a_checkpoint() {
        let mut h = LossHistory::default();
        for (i, x) in descent(30).into_iter().enumerate() {
            h.push_train(i as u64 + 1, x);
        }
        h.push_val(10, 1.2);
        h.push_val(20, 1.0);
        let kept = h.until(12);
        assert_eq!(kept.train(), &h.train()[..12]);
        assert_eq!(kept.smoothed(), &h.smoothed()[..12]);
        assert_eq!(kept.val(), [(10.0, 1.2)]);
        let mut probed = h.clone();
        probed.push_probe(10, 7.0);
        probed.push_probe(20, 7.5);
        probed.set_best_step(20);
        let cut = probed.until(12);
        assert_eq!((cut.probe(), cut.best_step()), (&[(10.0, 7.0)][..], None));
        assert_eq!(probed.until(20).best_step(), Some(20));
        // New steps smooth on from step 12, not from the dropped steps 13-30.
        let mut fresh = LossHistory::default();
        for &(s, x) in &h.train()[..12] {
            fresh.push_train(s as u64, x);
        }
        let mut kept = kept;
        kept.push_train(13, 0.5);
        fresh.push_train(13, 0.5);
        assert_eq!(kept.last_smoothed(), fresh.last_smoothed());
        let mut all = h.clone();
        all.push_train(31, 0.5);
        assert_ne!(kept.last_smoothed(), all.last_smoothed());
    }

    #[test]
    fn history_keeps_the_whole_run_within_the_cap() {
        let mut h = LossHistory::default();
        for step in 1..=(CAP as u64 + 1) {
            h.push_train(step, 1.0);
        }
        assert!(h.train().len() <= CAP);
        assert_eq!(h.train()[0].0, 1.0);
        assert_eq!(h.train().len(), h.smoothed().len());
        h.push_val(10, 0.9);
        assert_eq!(h.val(), [(10.0, 0.9)]);
        assert_eq!(h.health(), Health::Plateau);
    }

    #[test]
    fn the_mood_matches_the_report_s_idea_of_healthy() {
        use Health::*;
        for h in [
            Waiting,
            NaN,
            SuspiciouslyZero,
            Diverging,
            Overfitting,
            RollerCoaster,
            Plateau,
            SmoothDescent,
        ] {
            let calm = matches!(Mood::of(h), Mood::Good | Mood::Neutral);
            assert_eq!(calm, h.healthy(), "{h:?}");
        }
        assert_eq!(Mood::of(Diverging), Mood::Bad);
    }
}
