//! NLU accuracy on the es-AR corpus (`crates/domain/tests/corpus/nlu_es_ar.tsv`), scored by the
//! same code as the corpus test, so the benchmark and CI report the same figures.

use anyhow::{anyhow, Result};
use reservas_domain::nlu::{parse_corpus, score};

const CORPUS: &str = include_str!("../../crates/domain/tests/corpus/nlu_es_ar.tsv");

pub fn section(figures: &mut crate::Figures) -> Result<()> {
    let cases = parse_corpus(CORPUS).map_err(|e| anyhow!(e))?;
    let result = score(&cases);
    eprintln!("NLU corpus: {} messages, {} with a field wrong", result.cases, result.failures.len());
    for failure in &result.failures {
        eprintln!("  {failure}");
    }
    for (name, value) in result.figures() {
        figures.add(name, value, 3);
    }
    Ok(())
}
