//! A constant-velocity Kalman filter on a box, driven by elapsed seconds rather than frame counts (live
//! frame rates vary and frames get dropped).
//!
//! The box is four independent coordinates (centre x, centre y, width, height), each a position and a
//! velocity. ByteTrack's 8-dimensional filter has the same block structure, since its matrices never mix
//! coordinates; four 2x2 filters are that filter written plainly.

use crate::geometry::BBox;

/// Noise, relative to the box's size so that it holds at any resolution.
#[derive(Debug, Clone, Copy)]
pub struct KalmanNoise {
    /// Measurement noise: standard deviation of a detection's coordinates, per unit of box height.
    pub measurement: f32,
    /// Process noise: standard deviation of acceleration, box heights per second squared.
    pub acceleration: f32,
}

impl Default for KalmanNoise {
    fn default() -> Self {
        KalmanNoise { measurement: 0.05, acceleration: 4.0 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Axis {
    x: f32,
    v: f32,
    p00: f32,
    p01: f32,
    p11: f32,
}

impl Axis {
    fn new(x: f32, pos_std: f32, vel_std: f32) -> Axis {
        Axis { x, v: 0.0, p00: pos_std * pos_std, p01: 0.0, p11: vel_std * vel_std }
    }

    /// Moves the state `dt` seconds on; `q` is the acceleration variance.
    fn predict(&mut self, dt: f32, q: f32) {
        self.x += self.v * dt;
        // P = F P F' + Q, F = [[1, dt], [0, 1]], Q from white-noise acceleration.
        let (dt2, dt3) = (dt * dt, dt * dt * dt);
        self.p00 += 2.0 * dt * self.p01 + dt2 * self.p11 + q * dt3 / 3.0;
        self.p01 += dt * self.p11 + q * dt2 / 2.0;
        self.p11 += q * dt;
    }

    /// Folds in a measurement `z` with variance `r`.
    fn update(&mut self, z: f32, r: f32) {
        let s = self.p00 + r;
        let (k0, k1) = (self.p00 / s, self.p01 / s);
        let y = z - self.x;
        self.x += k0 * y;
        self.v += k1 * y;
        let (p00, p01, p11) = (self.p00, self.p01, self.p11);
        self.p00 = (1.0 - k0) * p00;
        self.p01 = (1.0 - k0) * p01;
        self.p11 = p11 - k1 * p01;
    }
}

/// The filtered state of one tracked box.
#[derive(Debug, Clone)]
pub struct BoxFilter {
    axes: [Axis; 4],
    noise: KalmanNoise,
}

impl BoxFilter {
    pub fn new(b: &BBox, noise: KalmanNoise) -> BoxFilter {
        let (cx, cy) = b.center();
        let size = b.height().max(b.width()).max(1.0);
        let pos = noise.measurement * size * 2.0;
        let vel = size; // unknown at birth: up to a body length per second either way
        BoxFilter {
            axes: [
                Axis::new(cx, pos, vel),
                Axis::new(cy, pos, vel),
                Axis::new(b.width(), pos, vel),
                Axis::new(b.height(), pos, vel),
            ],
            noise,
        }
    }

    fn size(&self) -> f32 {
        self.axes[2].x.max(self.axes[3].x).max(1.0)
    }

    pub fn predict(&mut self, dt: f64) {
        if dt <= 0.0 {
            return;
        }
        let q = (self.noise.acceleration * self.size()).powi(2);
        for axis in &mut self.axes {
            axis.predict(dt as f32, q);
        }
        // A box cannot shrink through zero however it was moving.
        self.axes[2].x = self.axes[2].x.max(1.0);
        self.axes[3].x = self.axes[3].x.max(1.0);
    }

    pub fn update(&mut self, b: &BBox) {
        let (cx, cy) = b.center();
        let r = (self.noise.measurement * self.size()).powi(2);
        for (axis, z) in self.axes.iter_mut().zip([cx, cy, b.width(), b.height()]) {
            axis.update(z, r);
        }
    }

    pub fn bbox(&self) -> BBox {
        BBox::from_center(self.axes[0].x, self.axes[1].x, self.axes[2].x, self.axes[3].x)
    }

    /// Velocity of the box centre in pixels per second.
    pub fn velocity(&self) -> (f32, f32) {
        (self.axes[0].v, self.axes[1].v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_steady_motion_and_predicts_it() {
        let mut f = BoxFilter::new(&BBox::from_center(100.0, 100.0, 40.0, 20.0), KalmanNoise::default());
        // 50 px/s to the right, observed at 10 fps for 2 s
        for i in 1..=20 {
            f.predict(0.1);
            f.update(&BBox::from_center(100.0 + 5.0 * i as f32, 100.0, 40.0, 20.0));
        }
        let (vx, vy) = f.velocity();
        assert!((vx - 50.0).abs() < 5.0 && vy.abs() < 2.0, "velocity {vx}, {vy}");
        f.predict(1.0);
        let (cx, _) = f.bbox().center();
        assert!((cx - 250.0).abs() < 8.0, "predicted centre {cx}");
    }

    #[test]
    fn prediction_depends_on_time_not_on_calls() {
        let start = BBox::from_center(0.0, 0.0, 10.0, 10.0);
        let mut a = BoxFilter::new(&start, KalmanNoise::default());
        let mut b = a.clone();
        for i in 1..=10 {
            a.predict(0.1);
            a.update(&BBox::from_center(i as f32, 0.0, 10.0, 10.0));
            b.predict(0.1);
            b.update(&BBox::from_center(i as f32, 0.0, 10.0, 10.0));
        }
        a.predict(0.5);
        for _ in 0..5 {
            b.predict(0.1);
        }
        assert!((a.bbox().center().0 - b.bbox().center().0).abs() < 1e-3);
    }
}
