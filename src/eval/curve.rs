//! The loss curve's health verdict in plain words, a pure function of the training and
//! validation losses: the cockpit shows it live and `report.md` quotes it.
//!
//! The method says a healthy curve "descends gently and flattens, not a roller coaster"; the
//! verdict turns that into thresholds a beginner sees update as the run goes. It watches the
//! process only: a good curve is never proof of a good model.

use crate::experiment::Language;

/// Weight of the past in the exponential moving average, as TensorBoard's smoothing slider.
pub const EMA_WEIGHT: f64 = 0.9;
/// Points before the verdict says more than "too early to tell".
const MIN_POINTS: usize = 8;
/// Below this smoothed loss a language model has memorised or is not being trained on the
/// answers at all (e.g. every label masked).
const ZERO_LOSS: f64 = 0.01;

/// Bias-corrected exponential moving average (TensorBoard's), skipping non-finite values.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ema {
    value: f64,
    weight: f64,
}

impl Ema {
    /// Adds `x`; returns the smoothed value so far (NaN before any finite value).
    pub fn push(&mut self, x: f64) -> f64 {
        if x.is_finite() {
            self.value = EMA_WEIGHT * self.value + (1.0 - EMA_WEIGHT) * x;
            self.weight = EMA_WEIGHT * self.weight + (1.0 - EMA_WEIGHT);
        }
        if self.weight > 0.0 {
            self.value / self.weight
        } else {
            f64::NAN
        }
    }
}

/// The smoothed series of `raw`.
pub fn ema(raw: &[f64]) -> Vec<f64> {
    let mut e = Ema::default();
    raw.iter().map(|&x| e.push(x)).collect()
}

/// What the curve says, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// No training loss yet, or too few points to judge.
    Waiting,
    /// A loss is NaN or infinite.
    NaN,
    /// The loss is (nearly) zero.
    SuspiciouslyZero,
    /// The smoothed loss is climbing.
    Diverging,
    /// Validation loss rising while training loss falls.
    Overfitting,
    /// Big swings around the trend.
    RollerCoaster,
    /// No real descent.
    Plateau,
    /// Descending gently (and flattening): healthy.
    SmoothDescent,
}

/// The verdict on a run from its raw training losses and validation losses, both in step
/// order. Thresholds are relative, so they hold for any loss scale.
pub fn verdict(train: &[f64], val: &[f64]) -> Health {
    let recent = &train[train.len().saturating_sub(20)..];
    if recent.iter().chain(val.last()).any(|x| !x.is_finite()) {
        return Health::NaN;
    }
    let smooth = ema(train);
    let Some(&last) = smooth.last() else {
        return Health::Waiting;
    };
    if train.len() >= 3 && last < ZERO_LOSS {
        return Health::SuspiciouslyZero;
    }
    if train.len() < MIN_POINTS {
        return Health::Waiting;
    }
    let n = train.len();
    // The recent window: the last third of the run, at least MIN_POINTS points.
    let w = (n / 3).max(MIN_POINTS).min(n);
    let start = mean(&train[..5.min(n)]);
    let lowest = smooth.iter().copied().fold(f64::INFINITY, f64::min);
    let window_start = smooth[n - w];
    if last > lowest * 1.3 && last > window_start {
        return Health::Diverging;
    }
    if val.len() >= 3 {
        let v_last = val[val.len() - 1];
        let v_min = val.iter().copied().fold(f64::INFINITY, f64::min);
        let rising = v_last > val[val.len() - 2] && v_last > v_min * 1.02;
        if rising && last < window_start {
            return Health::Overfitting;
        }
    }
    let window = &train[n - w..];
    let trend = &smooth[n - w..];
    let swing = window
        .iter()
        .zip(trend)
        .map(|(x, e)| (x - e).abs())
        .sum::<f64>()
        / mean(trend).max(f64::MIN_POSITIVE);
    if swing / w as f64 > 0.3 {
        return Health::RollerCoaster;
    }
    if (start - last) / start.max(f64::MIN_POSITIVE) < 0.05 {
        // A short flat start is normal (warm-up); twenty flat points are not.
        return if n >= 20 {
            Health::Plateau
        } else {
            Health::Waiting
        };
    }
    Health::SmoothDescent
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

impl Health {
    /// False when the curve calls for fixing the run before trusting its results (NaN,
    /// divergence, overfitting, ...); waiting for more points is not a problem yet.
    pub fn healthy(self) -> bool {
        matches!(self, Health::Waiting | Health::SmoothDescent)
    }

    /// The verdict in a few words.
    pub fn title(self, lang: Language) -> &'static str {
        let (en, zh) = match self {
            Health::Waiting => ("too early to tell", "数据太少，尚无结论"),
            Health::NaN => ("NaN: the loss broke", "NaN：损失已失效"),
            Health::SuspiciouslyZero => ("suspiciously zero", "损失接近零，可疑"),
            Health::Diverging => ("diverging", "发散"),
            Health::Overfitting => ("overfitting", "过拟合"),
            Health::RollerCoaster => ("roller coaster", "过山车"),
            Health::Plateau => ("plateau", "停滞"),
            Health::SmoothDescent => ("smooth descent", "平稳下降"),
        };
        lang.pick(en, zh)
    }

    /// What it means and what to do.
    pub fn advice(self, lang: Language) -> &'static str {
        let (en, zh) = match self {
            Health::Waiting => (
                "Wait for a few more steps.",
                "再等几步。",
            ),
            Health::NaN => (
                "Stop the run: lower the learning rate, or check the data for empty answers.",
                "停止训练：调低学习率，或检查数据中是否有空回答。",
            ),
            Health::SuspiciouslyZero => (
                "A near-zero loss means memorising or no answer tokens trained: check the data and template.",
                "损失接近零意味着死记硬背或没有训练到回答：检查数据和模板。",
            ),
            Health::Diverging => (
                "The loss is climbing: stop, halve the learning rate and start again.",
                "损失在上升：停止训练，学习率减半后重新开始。",
            ),
            Health::Overfitting => (
                "Validation loss rises while training loss falls: stop here or use fewer epochs.",
                "验证损失上升而训练损失下降：就此停止，或减少训练轮数。",
            ),
            Health::RollerCoaster => (
                "Big swings: lower the learning rate or raise the effective batch size.",
                "波动剧烈：调低学习率或增大有效批大小。",
            ),
            Health::Plateau => (
                "Hardly learning: suspect the data and the task first, then a larger learning rate.",
                "几乎没有学习：先怀疑数据和任务定义，再考虑调高学习率。",
            ),
            Health::SmoothDescent => (
                "Descending gently and flattening: what a healthy run looks like.",
                "平缓下降并逐渐走平：健康训练的样子。",
            ),
        };
        lang.pick(en, zh)
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
    fn a_gentle_descent_is_healthy() {
        assert_eq!(
            verdict(&descent(60), &[1.5, 1.1, 0.9]),
            Health::SmoothDescent
        );
        // A little noise is normal.
        let noisy: Vec<f64> = descent(60)
            .iter()
            .enumerate()
            .map(|(i, x)| x * if i % 2 == 0 { 1.08 } else { 0.92 })
            .collect();
        assert_eq!(verdict(&noisy, &[]), Health::SmoothDescent);
    }

    #[test]
    fn too_few_points_wait() {
        assert_eq!(verdict(&[], &[]), Health::Waiting);
        assert_eq!(verdict(&[2.0, 1.9, 1.8], &[]), Health::Waiting);
    }

    #[test]
    fn nan_wins_over_everything() {
        let mut l = descent(30);
        l[25] = f64::NAN;
        assert_eq!(verdict(&l, &[]), Health::NaN);
        assert_eq!(verdict(&[f64::INFINITY], &[]), Health::NaN);
        assert_eq!(verdict(&descent(30), &[1.0, f64::NAN]), Health::NaN);
    }

    #[test]
    fn zero_loss_is_suspicious() {
        assert_eq!(verdict(&[0.0; 10], &[]), Health::SuspiciouslyZero);
        assert_eq!(
            verdict(&[0.001, 0.0005, 0.0], &[]),
            Health::SuspiciouslyZero
        );
    }

    #[test]
    fn climbing_loss_diverges() {
        let mut l = descent(30);
        l.extend((0..20).map(|i| 0.8 + 0.15 * i as f64));
        assert_eq!(verdict(&l, &[]), Health::Diverging);
    }

    #[test]
    fn rising_validation_with_falling_training_is_overfitting() {
        assert_eq!(
            verdict(&descent(60), &[1.2, 1.0, 1.05, 1.15]),
            Health::Overfitting
        );
        // One small bump is not yet overfitting.
        assert_eq!(
            verdict(&descent(60), &[1.2, 1.0, 1.01]),
            Health::SmoothDescent
        );
    }

    #[test]
    fn big_swings_are_a_roller_coaster() {
        let l: Vec<f64> = descent(60)
            .iter()
            .enumerate()
            .map(|(i, x)| x * if i % 2 == 0 { 1.6 } else { 0.4 })
            .collect();
        assert_eq!(verdict(&l, &[]), Health::RollerCoaster);
    }

    #[test]
    fn a_flat_loss_is_a_plateau() {
        let l: Vec<f64> = (0..40).map(|i| 2.0 - 0.001 * i as f64).collect();
        assert_eq!(verdict(&l, &[]), Health::Plateau);
        // Flat but short: the warm-up may still be running.
        assert_eq!(verdict(&l[..10], &[]), Health::Waiting);
    }

    #[test]
    fn ema_is_bias_corrected_and_skips_nan() {
        let e = ema(&[2.0, f64::NAN, 2.0]);
        assert!((e[0] - 2.0).abs() < 1e-12 && (e[2] - 2.0).abs() < 1e-12);
        assert!(ema(&[f64::NAN])[0].is_nan());
    }

    #[test]
    fn only_waiting_and_a_smooth_descent_are_healthy() {
        assert!(Health::Waiting.healthy() && Health::SmoothDescent.healthy());
        assert!(!Health::Overfitting.healthy() && !Health::NaN.healthy());
        assert_eq!(Health::NaN.title(Language::Zh), "NaN：损失已失效");
    }
}
