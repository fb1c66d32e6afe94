//! Similarity between words: an edit distance and a Spanish phonetic key, for typos and for
//! what speech-to-text hears ("mose" for "doce", "vos" for "dos", "sinco" for "cinco").

/// Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
/// two neighbours each cost 1 ("cuarto" → "cuatro" is 1).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

/// How a word sounds in Rioplatense Spanish, so spellings that sound alike compare equal:
/// c before e/i and z sound like s (seseo), v like b, ll like y (yeísmo), h is silent, qu and
/// hard c are k. Input is normalized text (lower case, no accents).
pub fn phonetic(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            'c' if next == Some('h') => {
                out.push('x');
                i += 1;
            }
            'c' if matches!(next, Some('e' | 'i')) => out.push('s'),
            'c' | 'k' => out.push('k'),
            'q' if next == Some('u') => {
                out.push('k');
                i += 1;
            }
            'q' => out.push('k'),
            'z' => out.push('s'),
            'v' | 'w' => out.push('b'),
            'h' => {}
            'l' if next == Some('l') => {
                out.push('y');
                i += 1;
            }
            'g' if matches!(next, Some('e' | 'i')) => out.push('j'),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// `heard` is `of` with letters left out (a dropped letter is the likeliest typo or mishearing).
pub fn is_subsequence(heard: &str, of: &str) -> bool {
    let mut rest = of.chars();
    heard.chars().all(|h| rest.any(|c| c == h))
}

/// The single candidate within phonetic edit distance `max` of `heard`, the closest winning;
/// among equally close ones, the only one `heard` is a shortening of. `None` when nothing is
/// close or the choice is a coin toss: the caller then asks instead of guessing.
pub fn closest<'a, T: Copy>(heard: &str, candidates: &'a [(&'a str, T)], max: usize) -> Option<(&'a str, T, usize)> {
    let key = phonetic(heard);
    let mut best: Vec<(&str, T, usize)> = Vec::new();
    for &(word, value) in candidates {
        let distance = edit_distance(&key, &phonetic(word)).min(edit_distance(heard, word));
        if distance > max {
            continue;
        }
        match best.first() {
            Some(b) if distance > b.2 => {}
            Some(b) if distance < b.2 => best = vec![(word, value, distance)],
            _ => best.push((word, value, distance)),
        }
    }
    match best.len() {
        0 => None,
        1 => best.pop(),
        _ => {
            let shortened: Vec<_> = best.iter().filter(|b| is_subsequence(heard, b.0)).collect();
            match shortened.as_slice() {
                [only] => Some(**only),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_each_kind_of_edit_once() {
        assert_eq!(edit_distance("doce", "doce"), 0);
        assert_eq!(edit_distance("lugr", "lugar"), 1);
        assert_eq!(edit_distance("cuarto", "cuatro"), 1);
        assert_eq!(edit_distance("mose", "doce"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn phonetic_keys_merge_what_sounds_alike() {
        assert_eq!(phonetic("cinco"), phonetic("sinco"));
        assert_eq!(phonetic("doce"), phonetic("dose"));
        assert_eq!(phonetic("vos"), "bos");
        assert_eq!(phonetic("llegar"), "yegar");
        assert_eq!(phonetic("quince"), "kinse");
        assert_eq!(phonetic("hola"), "ola");
        assert_eq!(phonetic("noche"), "noxe");
    }

    #[test]
    fn closest_is_unique_or_nothing() {
        let numbers = [("dos", 2), ("doce", 12), ("tres", 3), ("once", 11)];
        assert_eq!(closest("mose", &numbers, 1).map(|c| c.1), Some(12));
        assert_eq!(closest("vos", &numbers, 1).map(|c| c.1), Some(2));
        assert_eq!(closest("xyzzy", &numbers, 1), None);
        let months = [("marzo", 3), ("mayo", 5)];
        // "mazo" is one edit from both; only "marzo" is "mazo" with a letter dropped.
        assert_eq!(closest("mazo", &months, 1).map(|c| c.1), Some(3));
        let tie = [("casa", 1), ("cosa", 2)];
        assert_eq!(closest("cisa", &tie, 1), None);
    }
}
