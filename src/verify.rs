//! Time agreement, as pure functions: a [`Sample`] is one reading through a call path bracketed by two
//! readings of the real syscall; a [`Verdict`] says whether the path agrees.
//!
//! Why a bracket and not a fixed tolerance: CRIU's `vdso01` test compares libc `time(NULL)` with the
//! vDSO's `__vdso_time` and accepts 3 seconds of difference. That misses a clock that is wrong by 10 ms,
//! and it only caught the bug it was written for because the wrong value happened to be 0 (off by 54
//! years). Reading the syscall immediately before and after the path turns "about right" into "inside
//! an interval the kernel itself vouches for": `before <= value <= after`, widened only by the clock's
//! own resolution (a coarse clock ticks in jiffies, `time()` in seconds, `gettimeofday` in
//! microseconds, so their readings are truncated, never shifted). A value wrong by one tick outside the
//! bracket is caught, and so is one wrong by fifty years.

use std::fmt;

/// Nanoseconds, wide enough for any `timespec` difference.
pub type Nanos = i128;

pub const NS_PER_SEC: Nanos = 1_000_000_000;

/// One bracketed reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The syscall's reading just before the path's, in ns.
    pub before: Nanos,
    /// The path's reading, in ns (seconds and microseconds converted).
    pub value: Nanos,
    /// The syscall's reading just after.
    pub after: Nanos,
    /// The path's return code (0 for success; `time()`'s is its value and is not checked here).
    pub ret: i64,
}

/// How much a reading may lie outside the bracket because of the clock's granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tolerance {
    /// The clock's resolution (`clock_getres`), or the unit of the interface (1 s for `time`, 1 µs for
    /// `gettimeofday`).
    pub resolution: Nanos,
}

/// What a call path did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every sample inside its bracket (widened by the resolution); `worst` is the largest distance
    /// of a sample outside the strict bracket, in ns (0 when all were strictly inside).
    Agrees { worst: i64 },
    /// The path returned 0 (the seed bug's symptom).
    Zero,
    /// A sample outside its widened bracket; `delta` is the signed distance from the nearest edge (ns,
    /// negative: before the bracket).
    OutOfBracket { delta: i64 },
    /// The path's readings went backwards across consecutive calls, by `by` ns.
    Backwards { by: i64 },
    /// The path returned an error where the syscall succeeded.
    Error { ret: i64 },
    /// An exact function (`clock_getres`, `getcpu`) gave a different answer than the syscall.
    Mismatch { expected: i64, got: i64 },
    /// The child running the path died of this signal.
    Crashed { signal: i32 },
    /// The child did not finish in time.
    TimedOut,
    /// The path does not offer this function (the image does not export it).
    NotExercised,
}

impl Verdict {
    pub fn agrees(&self) -> bool {
        matches!(self, Verdict::Agrees { .. })
    }

    /// Rank for "the worst of several verdicts" (higher is worse).
    fn rank(&self) -> u8 {
        match self {
            Verdict::NotExercised => 0,
            Verdict::Agrees { .. } => 1,
            Verdict::Backwards { .. } => 2,
            Verdict::OutOfBracket { .. } => 3,
            Verdict::Mismatch { .. } => 4,
            Verdict::Error { .. } => 5,
            Verdict::Zero => 6,
            Verdict::TimedOut => 7,
            Verdict::Crashed { .. } => 8,
        }
    }

    /// The worse of two verdicts (for two agreeing ones, the larger bracket error).
    pub fn worst(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Agrees { worst: a }, Verdict::Agrees { worst: b }) => {
                Verdict::Agrees { worst: a.max(b) }
            }
            _ if other.rank() > self.rank() => other,
            _ => self,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Agrees { worst: 0 } => f.write_str("agrees"),
            Verdict::Agrees { worst } => write!(
                f,
                "agrees ({worst} ns outside the bracket, within resolution)"
            ),
            Verdict::Zero => f.write_str("ZERO"),
            Verdict::OutOfBracket { delta } => write!(f, "OUT OF BRACKET by {delta} ns"),
            Verdict::Backwards { by } => write!(f, "WENT BACKWARDS by {by} ns"),
            Verdict::Error { ret } => write!(f, "ERROR (returned {ret})"),
            Verdict::Mismatch { expected, got } => {
                write!(f, "MISMATCH (syscall {expected}, path {got})")
            }
            Verdict::Crashed { signal } => write!(f, "CRASHED (signal {signal})"),
            Verdict::TimedOut => f.write_str("TIMED OUT"),
            Verdict::NotExercised => f.write_str("not exercised"),
        }
    }
}

fn clamp(n: Nanos) -> i64 {
    n.clamp(i64::MIN as Nanos, i64::MAX as Nanos) as i64
}

/// Judge a series of samples of one clock through one path.
///
/// Order of checks: an error return, a zero reading (unless the bracket itself contains 0, as a
/// just-started CPU-time clock can), the widened bracket, then monotonicity across the series.
pub fn judge(samples: &[Sample], tol: Tolerance) -> Verdict {
    let mut worst: Nanos = 0;
    let mut prev: Option<Nanos> = None;
    for s in samples {
        if s.ret != 0 {
            return Verdict::Error { ret: s.ret };
        }
        if s.value == 0 && s.before > 0 {
            return Verdict::Zero;
        }
        // Truncating clocks read up to one resolution behind the syscall's finer reading; nothing
        // legitimately reads ahead of the syscall after it.
        let lo = s.before - tol.resolution;
        let hi = s.after + tol.resolution;
        if s.value < lo {
            return Verdict::OutOfBracket {
                delta: clamp(s.value - s.before),
            };
        }
        if s.value > hi {
            return Verdict::OutOfBracket {
                delta: clamp(s.value - s.after),
            };
        }
        let outside = (s.before - s.value).max(s.value - s.after).max(0);
        worst = worst.max(outside);
        if let Some(p) = prev {
            if s.value < p {
                return Verdict::Backwards {
                    by: clamp(p - s.value),
                };
            }
        }
        prev = Some(s.value);
    }
    Verdict::Agrees {
        worst: clamp(worst),
    }
}

/// Judge an exact function (`clock_getres`, `getcpu`): every reading equals the syscall's.
pub fn judge_exact(pairs: &[(i64, i64, i64)]) -> Verdict {
    for &(expected, got, ret) in pairs {
        if ret != 0 {
            return Verdict::Error { ret };
        }
        if expected != got {
            return Verdict::Mismatch { expected, got };
        }
    }
    Verdict::Agrees { worst: 0 }
}

/// One sample of a function through a call path, typed by what the function answers. The live lab's
/// children record raw integers; the parent decodes them into these (one kind per function) and
/// [`judge_records`] judges a series of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// A clock reading (`clock_gettime`, `gettimeofday`, `time`) bracketed by the syscall.
    Bracketed(Sample),
    /// An exact answer and the syscall's: `clock_getres` (ns), `getcpu` (`cpu << 32 | node`).
    Exact { expected: i64, got: i64, ret: i64 },
    /// Two `getrandom` calls of `requested` bytes: their return values, the first 8 bytes of each
    /// buffer, and whether each buffer is one repeated byte.
    Random {
        requested: i64,
        rets: [i64; 2],
        heads: [i64; 2],
        constant: [bool; 2],
    },
    /// The robust-futex try-unlock entries (Linux 7.x), called on [`FUTEX_CASES`]: what each call
    /// left behind. There is no syscall to compare with; [`futex_model`] is the reference.
    Futex {
        /// `__vdso_futex_robust_list64_try_unlock` (a 64-bit pending slot), else the 32-bit one.
        wide: bool,
        after: [FutexState; 2],
    },
}

/// One try-unlock call: its return value, the lock word and the pending-op slot after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FutexState {
    pub ret: u32,
    pub lock: u32,
    pub pending: u64,
}

/// The thread id the futex experiments unlock as (any value below `FUTEX_WAITERS` would do).
pub const FUTEX_TID: u32 = 0x2a5a;
/// What the pending-op slot holds before each call: a pattern whose clearing is visible per half.
pub const FUTEX_PENDING: u64 = 0x5a5a_5a5a_a5a5_a5a5;
/// The lock word before each call: owned by [`FUTEX_TID`] with no waiters, then with
/// `FUTEX_WAITERS` (bit 31) set, which only the kernel may unlock.
pub const FUTEX_CASES: [u32; 2] = [FUTEX_TID, FUTEX_TID | 0x8000_0000];

/// What a try-unlock must leave, as the x86-64 and i386 entries of Linux 7.2.13 (Debian's
/// 7.2.13+deb14 images in corpus/real, offsets 0x16d0 and 0x16e0 of the x86-64 one) do: a
/// compare-and-exchange of the lock word from `tid` to 0; on success the pending-op slot is cleared
/// (8 bytes for the 64-bit entry, the low 4 for the 32-bit one) and `tid` returned; otherwise nothing
/// is written and the lock word's value is returned.
pub fn futex_model(wide: bool, lock: u32, tid: u32, pending: u64) -> FutexState {
    if lock != tid {
        return FutexState {
            ret: lock,
            lock,
            pending,
        };
    }
    FutexState {
        ret: tid,
        lock: 0,
        pending: if wide { 0 } else { pending & !0xffff_ffff },
    }
}

/// Judge what the try-unlock calls left against [`futex_model`]: the first field that differs is the
/// mismatch (return value, then lock word, then pending slot).
pub fn judge_futex(wide: bool, after: &[FutexState; 2]) -> Verdict {
    for (case, got) in FUTEX_CASES.iter().zip(after) {
        let want = futex_model(wide, *case, FUTEX_TID, FUTEX_PENDING);
        let fields = [
            (i64::from(want.ret), i64::from(got.ret)),
            (i64::from(want.lock), i64::from(got.lock)),
            (want.pending as i64, got.pending as i64),
        ];
        if let Some(&(expected, got)) = fields.iter().find(|(w, g)| w != g) {
            return Verdict::Mismatch { expected, got };
        }
    }
    Verdict::Agrees { worst: 0 }
}

/// Judge a series of records of one function through one path: brackets with [`judge`], exact answers
/// with [`judge_exact`], random bytes by length, variety and difference between the two calls. A series
/// that mixes kinds is a broken experiment (an error), never an agreement.
pub fn judge_records(records: &[Record], tol: Tolerance) -> Verdict {
    let mut samples = Vec::new();
    let mut pairs = Vec::new();
    let mut random = Vec::new();
    let mut futex = Vec::new();
    for r in records {
        match *r {
            Record::Futex { wide, after } => futex.push((wide, after)),
            Record::Bracketed(s) => samples.push(s),
            Record::Exact { expected, got, ret } => pairs.push((expected, got, ret)),
            Record::Random {
                requested,
                rets,
                heads,
                constant,
            } => random.push((requested, rets, heads, constant)),
        }
    }
    if !futex.is_empty() {
        if !(samples.is_empty() && pairs.is_empty() && random.is_empty()) {
            return Verdict::Error { ret: -1 };
        }
        return futex
            .iter()
            .map(|(wide, after)| judge_futex(*wide, after))
            .find(|v| !v.agrees())
            .unwrap_or(Verdict::Agrees { worst: 0 });
    }
    match (samples.is_empty(), pairs.is_empty(), random.is_empty()) {
        (false, true, true) => judge(&samples, tol),
        (true, false, true) => judge_exact(&pairs),
        (true, true, false) => {
            for (requested, rets, heads, constant) in random {
                if let Some(&ret) = rets.iter().find(|&&r| r != requested) {
                    return Verdict::Error { ret };
                }
                if constant[0] || constant[1] || heads[0] == heads[1] {
                    return Verdict::Mismatch {
                        expected: heads[0],
                        got: heads[1],
                    };
                }
            }
            Verdict::Agrees { worst: 0 }
        }
        // Nothing recorded, or kinds mixed.
        _ => Verdict::Error { ret: -1 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(before: Nanos, value: Nanos, after: Nanos) -> Sample {
        Sample {
            before,
            value,
            after,
            ret: 0,
        }
    }
    const NS: Tolerance = Tolerance { resolution: 1 };
    const T: Nanos = 1_700_000_000 * NS_PER_SEC;

    /// The try-unlock model and its judge: a right implementation agrees; one that forgets to clear
    /// the pending slot, clears the wrong width, unlocks a lock with waiters or returns the wrong value
    /// is a mismatch naming the field.
    #[test]
    fn futex_try_unlock_is_judged_field_by_field() {
        let right = |wide| FUTEX_CASES.map(|l| futex_model(wide, l, FUTEX_TID, FUTEX_PENDING));
        for wide in [true, false] {
            let r = right(wide);
            assert_eq!(r[0].lock, 0);
            assert_eq!(r[0].ret, FUTEX_TID);
            assert_eq!(r[1].lock, FUTEX_CASES[1]);
            assert_eq!(r[1].ret, FUTEX_CASES[1]);
            assert_eq!(r[1].pending, FUTEX_PENDING);
            assert_eq!(judge_futex(wide, &r), Verdict::Agrees { worst: 0 });
        }
        assert_eq!(right(true)[0].pending, 0);
        assert_eq!(right(false)[0].pending, 0x5a5a_5a5a_0000_0000);
        let broken = |wide: bool, f: &dyn Fn(&mut [FutexState; 2])| {
            let mut r = right(wide);
            f(&mut r);
            judge_futex(wide, &r)
        };
        let m = |expected: i64, got: i64| Verdict::Mismatch { expected, got };
        assert_eq!(
            broken(true, &|r| r[0].pending = FUTEX_PENDING),
            m(0, FUTEX_PENDING as i64)
        );
        // The 32-bit entry's write is 4 bytes; an 8-byte clear is wrong.
        assert_eq!(
            broken(false, &|r| r[0].pending = 0),
            m(0x5a5a_5a5a_0000_0000, 0)
        );
        assert_eq!(
            broken(true, &|r| r[1].lock = 0),
            m(i64::from(FUTEX_CASES[1]), 0)
        );
        assert_eq!(broken(true, &|r| r[0].ret = 0), m(i64::from(FUTEX_TID), 0));
        // Mixed with another kind of record: a broken experiment.
        let f = Record::Futex {
            wide: true,
            after: right(true),
        };
        let tol = Tolerance { resolution: 1 };
        assert_eq!(judge_records(&[f], tol), Verdict::Agrees { worst: 0 });
        assert_eq!(
            judge_records(&[f, Record::Bracketed(s(T, T, T))], tol),
            Verdict::Error { ret: -1 }
        );
    }

    #[test]
    fn edges_of_the_bracket() {
        assert_eq!(judge(&[s(T, T, T)], NS), Verdict::Agrees { worst: 0 });
        assert_eq!(
            judge(&[s(T, T + 5, T + 5)], NS),
            Verdict::Agrees { worst: 0 }
        );
        // One resolution outside is tolerated and reported; two are not.
        assert_eq!(
            judge(&[s(T, T - 1, T + 5)], NS),
            Verdict::Agrees { worst: 1 }
        );
        assert_eq!(
            judge(&[s(T, T - 2, T + 5)], NS),
            Verdict::OutOfBracket { delta: -2 }
        );
        assert_eq!(
            judge(&[s(T, T + 7, T + 5)], NS),
            Verdict::OutOfBracket { delta: 2 }
        );
    }

    #[test]
    fn zero_backwards_and_errors() {
        assert_eq!(judge(&[s(T, 0, T)], NS), Verdict::Zero);
        // A CPU-time clock can legitimately read 0 right after start: its bracket contains 0.
        assert_eq!(judge(&[s(0, 0, 10)], NS), Verdict::Agrees { worst: 0 });
        assert_eq!(
            judge(&[s(T, T + 10, T + 20), s(T, T + 5, T + 20)], NS),
            Verdict::Backwards { by: 5 }
        );
        let mut e = s(T, T, T);
        e.ret = -22;
        assert_eq!(judge(&[e], NS), Verdict::Error { ret: -22 });
        // Fifty years off and ten milliseconds off are both caught.
        assert!(matches!(
            judge(&[s(T, T - 50 * 365 * 86400 * NS_PER_SEC, T)], NS),
            Verdict::OutOfBracket { .. }
        ));
        assert!(matches!(
            judge(&[s(T, T + 10_000_000, T + 1000)], NS),
            Verdict::OutOfBracket { .. }
        ));
    }

    #[test]
    fn coarse_clock_jitter_within_a_tick() {
        // A coarse clock (4 ms ticks) read between two fine syscall readings: the coarse value trails
        // by up to one tick.
        let tick = Tolerance {
            resolution: 4_000_000,
        };
        assert!(judge(&[s(T + 3_999_999, T, T + 4_000_100)], tick).agrees());
        assert!(!judge(&[s(T + 8_000_001, T, T + 8_000_100)], tick).agrees());
    }

    #[test]
    fn exact_functions() {
        assert_eq!(
            judge_exact(&[(1, 1, 0), (4_000_000, 4_000_000, 0)]),
            Verdict::Agrees { worst: 0 }
        );
        assert_eq!(
            judge_exact(&[(1, 0, 0)]),
            Verdict::Mismatch {
                expected: 1,
                got: 0
            }
        );
    }

    #[test]
    fn the_upper_edge_and_its_distance() {
        // Exactly one resolution after the bracket agrees and is reported; one more does not.
        let tick = Tolerance { resolution: 3 };
        assert_eq!(
            judge(&[s(T, T + 8, T + 5)], tick),
            Verdict::Agrees { worst: 3 }
        );
        assert_eq!(
            judge(&[s(T, T + 9, T + 5)], tick),
            Verdict::OutOfBracket { delta: 4 }
        );
        // The worst distance over a series, on either side.
        assert_eq!(
            judge(&[s(T, T - 2, T + 5), s(T, T + 6, T + 5)], tick),
            Verdict::Agrees { worst: 2 }
        );
        // Distances beyond i64 are clamped, not wrapped.
        let far = -(1i128 << 80);
        assert_eq!(
            judge(&[s(T, far, T)], NS),
            Verdict::OutOfBracket { delta: i64::MIN }
        );
    }

    #[test]
    fn equal_readings_do_not_go_backwards() {
        assert_eq!(
            judge(&[s(T, T + 5, T + 9), s(T, T + 5, T + 9)], NS),
            Verdict::Agrees { worst: 0 }
        );
        assert_eq!(
            judge(&[s(T, T + 5, T + 9), s(T, T + 4, T + 9)], NS),
            Verdict::Backwards { by: 1 }
        );
    }

    #[test]
    fn exact_functions_report_errors_first() {
        assert_eq!(
            judge_exact(&[(1, 1, 0), (1, 2, -14)]),
            Verdict::Error { ret: -14 }
        );
        assert_eq!(judge_exact(&[]), Verdict::Agrees { worst: 0 });
    }

    #[test]
    fn verdicts_rank_in_the_documented_order() {
        let order = [
            Verdict::NotExercised,
            Verdict::Agrees { worst: 0 },
            Verdict::Backwards { by: 1 },
            Verdict::OutOfBracket { delta: 1 },
            Verdict::Mismatch {
                expected: 1,
                got: 2,
            },
            Verdict::Error { ret: -1 },
            Verdict::Zero,
            Verdict::TimedOut,
            Verdict::Crashed { signal: 11 },
        ];
        for (i, a) in order.iter().enumerate() {
            for b in &order[i + 1..] {
                assert_eq!(a.worst(*b), *b, "{a:?} vs {b:?}");
                assert_eq!(b.worst(*a), *b, "{b:?} vs {a:?}");
            }
        }
    }

    #[test]
    fn verdicts_read_as_documented() {
        let text = [
            (Verdict::Agrees { worst: 0 }, "agrees"),
            (
                Verdict::Agrees { worst: 5 },
                "agrees (5 ns outside the bracket, within resolution)",
            ),
            (Verdict::Zero, "ZERO"),
            (
                Verdict::OutOfBracket { delta: -3 },
                "OUT OF BRACKET by -3 ns",
            ),
            (Verdict::Backwards { by: 2 }, "WENT BACKWARDS by 2 ns"),
            (Verdict::Error { ret: -22 }, "ERROR (returned -22)"),
            (
                Verdict::Mismatch {
                    expected: 1,
                    got: 0,
                },
                "MISMATCH (syscall 1, path 0)",
            ),
            (Verdict::Crashed { signal: 11 }, "CRASHED (signal 11)"),
            (Verdict::TimedOut, "TIMED OUT"),
            (Verdict::NotExercised, "not exercised"),
        ];
        for (v, want) in text {
            assert_eq!(v.to_string(), want);
        }
    }

    #[test]
    fn worst_of_verdicts() {
        let a = Verdict::Agrees { worst: 3 };
        assert_eq!(
            a.worst(Verdict::Agrees { worst: 7 }),
            Verdict::Agrees { worst: 7 }
        );
        assert_eq!(a.worst(Verdict::Zero), Verdict::Zero);
        assert_eq!(
            Verdict::Crashed { signal: 11 }.worst(Verdict::Zero),
            Verdict::Crashed { signal: 11 }
        );
        assert_eq!(Verdict::NotExercised.worst(a), a);
        // Of two failures of one kind, the first is kept (the one the report names first).
        assert_eq!(
            Verdict::Error { ret: -1 }.worst(Verdict::Error { ret: -2 }),
            Verdict::Error { ret: -1 }
        );
    }

    #[test]
    fn records_are_judged_by_kind() {
        let b = Record::Bracketed(s(T, T + 5, T + 10));
        assert_eq!(judge_records(&[b, b], NS), Verdict::Agrees { worst: 0 });
        let late = Record::Bracketed(s(T, T + NS_PER_SEC, T));
        // `time()` one second late: caught when the bracket is the coarse clock with no widening.
        assert_eq!(
            judge_records(&[late], Tolerance { resolution: 0 }),
            Verdict::OutOfBracket {
                delta: 1_000_000_000
            }
        );
        let e = |expected, got| Record::Exact {
            expected,
            got,
            ret: 0,
        };
        assert_eq!(judge_records(&[e(1, 1)], NS), Verdict::Agrees { worst: 0 });
        assert_eq!(
            judge_records(&[e(1, 2)], NS),
            Verdict::Mismatch {
                expected: 1,
                got: 2
            }
        );
        let r = |rets: [i64; 2], heads: [i64; 2], constant| Record::Random {
            requested: 32,
            rets,
            heads,
            constant,
        };
        assert_eq!(
            judge_records(&[r([32, 32], [1, 2], [false, false])], NS),
            Verdict::Agrees { worst: 0 }
        );
        assert_eq!(
            judge_records(&[r([32, 5], [1, 2], [false, false])], NS),
            Verdict::Error { ret: 5 }
        );
        assert_eq!(
            judge_records(&[r([32, 32], [7, 7], [false, false])], NS),
            Verdict::Mismatch {
                expected: 7,
                got: 7
            }
        );
        assert_eq!(
            judge_records(&[r([32, 32], [1, 2], [true, false])], NS),
            Verdict::Mismatch {
                expected: 1,
                got: 2
            }
        );
        assert_eq!(judge_records(&[b, e(1, 1)], NS), Verdict::Error { ret: -1 });
        assert_eq!(judge_records(&[], NS), Verdict::Error { ret: -1 });
    }
}
