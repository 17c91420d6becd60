// run_rust_myprog.rs: the Rust program of tests/integration/run_rust.sh, compiled there with
// `rustc --crate-name myprog` (no cargo). Every round burns CPU in myprog::burn::heavy (3 units)
// and myprog::burn::light (1 unit): 75 / 25 of the work. Both are generic (monomorphized for u32
// and u8) and call a closure through `&dyn Fn` (so the closure stays a frame of its own) from a
// generic helper, spin. The two closures have the same shape (both capture k by value), so a
// unit costs the same in both, and the size of a round varies pseudo-randomly so that no round
// length can fall into step with the sampling period. Usage: myprog [SECONDS]
mod burn {
    use std::hint::black_box;

    #[inline(never)]
    fn spin<T: Copy + Into<u64>>(units: u64, seed: T, f: &dyn Fn(u64) -> u64) -> u64 {
        let f = black_box(f);
        let mut acc: u64 = seed.into();
        for i in 0..units * 20_000 {
            acc = f(black_box(acc ^ i));
        }
        acc
    }

    #[inline(never)]
    pub fn heavy<T: Copy + Into<u64>>(units: u64, seed: T) -> u64 {
        let k = black_box(0x9e37_79b9_7f4a_7c15u64);
        spin(units, seed, &move |x| x.wrapping_mul(k).rotate_left(7))
    }

    #[inline(never)]
    pub fn light<T: Copy + Into<u64>>(units: u64, seed: T) -> u64 {
        let k = black_box(0xc2b2_ae3d_27d4_eb4fu64);
        spin(units, seed, &move |x| x.wrapping_mul(k).rotate_left(11))
    }
}

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let start = std::time::Instant::now();
    let mut sink = 0u64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    while start.elapsed().as_secs_f64() < secs {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let r = 1 + (rng >> 61);
        sink = sink.wrapping_add(burn::heavy(3 * r, 7u32));
        sink = sink.wrapping_add(burn::light(r, 5u8));
    }
    println!("{}", sink & 1);
}
