//! CSV for exports (RFC 4180, written by the `csv` crate: every cell
//! quoted, CRLF line ends), safe to open in a spreadsheet whatever
//! separator it splits on.
//!
//! A spreadsheet may split a line on `,`, `;`, a tab or `|` (by locale or
//! by the person's choice), and some split naively, ignoring the quotes.
//! So quoting alone does not keep a formula out: `plan;=cmd|…` is one
//! quoted cell to a comma reader but two cells, the second a formula, to a
//! semicolon reader. Every formula trigger (`= + - @`, tab, CR) that starts
//! the cell, or follows a character a spreadsheet may split on (after any
//! spaces or double quotes), gets a `'` before it, so no split of the line
//! yields a cell that starts with a trigger.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use anyhow::Context;
use futures_util::Stream;

/// Characters that make a spreadsheet read a cell as a formula.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Characters a spreadsheet may split a line (or the file) on.
const SPLITS: [char; 6] = [',', ';', '\t', '|', '\n', '\r'];

/// A CSV download named `filename`, streamed from `body`.
pub fn download<S>(filename: &str, body: S) -> HttpResponse
where
    S: Stream<Item = Result<Bytes, actix_web::Error>> + 'static,
{
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body)
}

/// The chunk that ends an export which failed part-way: the error is
/// logged and the connection is closed, so the file is visibly cut short.
pub fn failed(err: &anyhow::Error, what: &str) -> Result<Bytes, actix_web::Error> {
    tracing::error!(error = ?err, "the {what} export failed");
    Err(actix_web::error::ErrorInternalServerError("export failed"))
}

/// One line of CSV: every cell neutralized and quoted, ending in CRLF.
pub fn line<S: AsRef<str>>(cells: &[S]) -> anyhow::Result<String> {
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer
        .write_record(cells.iter().map(|c| neutralize(c.as_ref())))
        .context("failed to write a CSV line")?;
    let bytes = writer
        .into_inner()
        .map_err(|err| anyhow::anyhow!("failed to finish a CSV line: {}", err.error()))?;
    String::from_utf8(bytes).context("a CSV line was not UTF-8")
}

/// The cell's text with a `'` before every formula trigger that could
/// start a cell under some way of splitting the line.
pub fn neutralize(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    let mut at_start = true;
    for c in value.chars() {
        if at_start && TRIGGERS.contains(&c) {
            out.push('\'');
        }
        out.push(c);
        at_start = SPLITS.contains(&c) || (at_start && matches!(c, ' ' | '"'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_at_the_start_are_neutralized() {
        assert_eq!(neutralize("=1+2"), "'=1+2");
        assert_eq!(neutralize("+cmd"), "'+cmd");
        assert_eq!(neutralize("-2"), "'-2");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("\tx"), "'\tx");
        assert_eq!(neutralize("\rx"), "'\rx");
        assert_eq!(neutralize("  \"=x"), "  \"'=x");
        assert_eq!(neutralize("plain"), "plain");
        assert_eq!(neutralize("2026-01-02 10:00"), "2026-01-02 10:00");
    }

    #[test]
    fn formulas_after_any_separator_are_neutralized() {
        assert_eq!(
            neutralize("Q3 plan;=cmd|' /C calc'!A0;"),
            "Q3 plan;'=cmd|' /C calc'!A0;"
        );
        assert_eq!(neutralize("a|=b"), "a|'=b");
        assert_eq!(neutralize("a, +b"), "a, '+b");
        assert_eq!(neutralize("a\n@b"), "a\n'@b");
        assert_eq!(neutralize("a;\"-b"), "a;\"'-b");
        // A tab after a separator is itself a trigger and a separator.
        assert_eq!(neutralize("a;\t=b"), "a;'\t'=b");
        // Not after a separator: left alone.
        assert_eq!(neutralize("a-b = c"), "a-b = c");
    }

    #[test]
    fn every_cell_is_quoted_and_lines_end_in_crlf() {
        assert_eq!(line(&["a", "b,c"]).unwrap(), "\"a\",\"b,c\"\r\n");
        assert_eq!(
            line(&["say \"hi\"", ""]).unwrap(),
            "\"say \"\"hi\"\"\",\"\"\r\n"
        );
        assert_eq!(
            line(&["=HYPERLINK(\"x\",\"y\")"]).unwrap(),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"\r\n"
        );
        assert_eq!(line(&["two\nlines"]).unwrap(), "\"two\nlines\"\r\n");
    }
}
