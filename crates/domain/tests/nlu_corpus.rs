//! Accuracy of the NLU on the es-AR corpus (`tests/corpus/nlu_es_ar.tsv`): prints the figures
//! and every line it got wrong, and fails below the floor.

use reservas_domain::nlu::{parse_corpus, score};

/// Each field must be right on at least this share of the corpus.
const FLOOR: f64 = 0.9;

#[test]
fn nlu_accuracy_on_the_es_ar_corpus() {
    let text = include_str!("corpus/nlu_es_ar.tsv");
    let cases = parse_corpus(text).expect("corpus parses");
    assert!(cases.len() >= 150, "the corpus must keep at least 150 messages, has {}", cases.len());
    let result = score(&cases);
    for failure in &result.failures {
        println!("FAILED {failure}");
    }
    println!("nlu_corpus_messages {}", result.cases);
    for (name, value) in result.figures() {
        println!("{name} {value:.3}");
    }
    for (name, value) in &result.figures()[..3] {
        assert!(*value >= FLOOR, "{name} {value:.3} is below {FLOOR}");
    }
}
