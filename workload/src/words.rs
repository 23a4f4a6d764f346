//! The title vocabulary: synthetic words with Zipf-distributed popularity.
//!
//! Word `i` (0-based rank) is spelled from two-letter syllables of `i + 20` in base 20
//! ("baba", "bace", …), so words are distinct, lower-case and alphabetic, and any tokenizer
//! splits titles on spaces. Titles and search queries draw ranks from the same Zipf law, so
//! popular query words hit many titles and rare ones few, as in real search traffic.

use rand::Rng;
use rand_distr::{Distribution, Zipf};

use crate::error::{Result, config};

const SYLLABLES: [&str; 20] = [
    "ba", "ce", "di", "fo", "gu", "ha", "ji", "ko", "lu", "ma", "ne", "pi", "ro", "su", "ta", "ve",
    "wi", "xo", "yu", "za",
];

/// A Zipf-weighted vocabulary of synthetic words.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    size: u32,
    zipf: Zipf<f64>,
}

impl Vocabulary {
    /// A vocabulary of `size ≥ 1` words with Zipf exponent `exponent ≥ 0`.
    pub fn new(size: u32, exponent: f64) -> Result<Self> {
        let zipf = Zipf::new(f64::from(size.max(1)), exponent)
            .map_err(|e| config("title-zipf", e.to_string()))?;
        Ok(Self {
            size: size.max(1),
            zipf,
        })
    }

    /// Number of words.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The spelling of the word of 0-based popularity rank `rank`.
    pub fn word(rank: u32) -> String {
        let mut n = u64::from(rank) + 20;
        let mut parts = Vec::new();
        while n > 0 {
            parts.push(SYLLABLES[(n % 20) as usize]);
            n /= 20;
        }
        parts.reverse();
        parts.concat()
    }

    /// A popularity rank drawn from the Zipf law (0 = most popular).
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        let r = self.zipf.sample(rng) as u32;
        r.clamp(1, self.size) - 1
    }

    /// `1 ..= max_words` words joined by single spaces.
    pub fn phrase<R: Rng + ?Sized>(&self, rng: &mut R, max_words: u32) -> String {
        let n = rng.random_range(1..=max_words.max(1));
        (0..n)
            .map(|_| Self::word(self.draw(rng)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn words_are_distinct_and_popularity_is_skewed() {
        let words: std::collections::HashSet<String> = (0..5_000).map(Vocabulary::word).collect();
        assert_eq!(words.len(), 5_000);
        assert!(
            words
                .iter()
                .all(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        );
        let v = Vocabulary::new(1_000, 1.0).expect("valid");
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let draws: Vec<u32> = (0..20_000).map(|_| v.draw(&mut rng)).collect();
        let top = draws.iter().filter(|&&r| r == 0).count();
        let tenth = draws.iter().filter(|&&r| r == 9).count();
        assert!(top > 5 * tenth, "rank 0: {top}, rank 9: {tenth}");
        assert!(draws.iter().all(|&r| r < 1_000));
        let p = v.phrase(&mut rng, 4);
        assert!((1..=4).contains(&p.split(' ').count()), "{p}");
    }
}
