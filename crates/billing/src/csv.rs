//! CSV as accounting software and spreadsheets read it: RFC 4180 quoting and CRLF line ends,
//! UTF-8 (with a byte-order mark when asked, so Excel reads it as UTF-8), a chosen separator, an
//! optional decimal comma, and text cells that would start a formula neutralised.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How a CSV file is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CsvOptions {
    /// ",", ";" or "\t".
    pub separator: String,
    /// Write decimals as "12,50" (Swedish and most European spreadsheets).
    pub decimal_comma: bool,
    /// Start the file with a UTF-8 byte-order mark: Excel needs it to read å, ä, ö correctly.
    pub bom: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            separator: ",".into(),
            decimal_comma: false,
            bom: false,
        }
    }
}

impl CsvOptions {
    /// The separator as a byte, or why these options cannot be used.
    pub fn check(&self) -> Result<u8, String> {
        let sep = match self.separator.as_str() {
            "," => b',',
            ";" => b';',
            "\t" => b'\t',
            s => return Err(format!("separator {s:?}: one of \",\", \";\" or a tab")),
        };
        if sep == b',' && self.decimal_comma {
            return Err(
                "separator: a decimal comma needs \";\" or a tab between the columns".into(),
            );
        }
        Ok(sep)
    }
}

/// Writes rows cell by cell.
pub struct CsvWriter<W: Write> {
    out: W,
    sep: u8,
    decimal_comma: bool,
    first_cell: bool,
}

/// Characters that make a spreadsheet read a cell as a formula (or that some treat so).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

impl<W: Write> CsvWriter<W> {
    pub fn new(mut out: W, options: &CsvOptions) -> Result<Self, CsvError> {
        let sep = options.check().map_err(CsvError::Options)?;
        if options.bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        Ok(CsvWriter {
            out,
            sep,
            decimal_comma: options.decimal_comma,
            first_cell: true,
        })
    }

    fn raw(&mut self, cell: &str) -> io::Result<()> {
        if !self.first_cell {
            self.out.write_all(&[self.sep])?;
        }
        self.first_cell = false;
        let needs_quotes = cell
            .bytes()
            .any(|b| b == self.sep || b == b'"' || b == b'\n' || b == b'\r');
        if needs_quotes {
            self.out.write_all(b"\"")?;
            self.out.write_all(cell.replace('"', "\"\"").as_bytes())?;
            self.out.write_all(b"\"")
        } else {
            self.out.write_all(cell.as_bytes())
        }
    }

    /// A text cell. One that begins like a formula gets a leading apostrophe, so a tag named
    /// `=HYPERLINK(…)` shows as text instead of running.
    pub fn text(&mut self, cell: &str) -> io::Result<()> {
        if cell.starts_with(FORMULA_START) {
            self.raw(&format!("'{cell}"))
        } else {
            self.raw(cell)
        }
    }

    /// A number we formatted ourselves ("-12.50"), written with the chosen decimal mark.
    pub fn number(&mut self, cell: &str) -> io::Result<()> {
        if self.decimal_comma {
            self.raw(&cell.replace('.', ","))
        } else {
            self.raw(cell)
        }
    }

    pub fn integer(&mut self, n: i64) -> io::Result<()> {
        self.fixed(n, 0)
    }

    /// `units` of `10^-decimals` as a number with the chosen decimal mark: `fixed(-1234, 2)` is
    /// "-12.34" (or "-12,34"). Written digit by digit: an invoice has a dozen on each of 100 000
    /// lines.
    pub fn fixed(&mut self, units: i64, decimals: u32) -> io::Result<()> {
        if !self.first_cell {
            self.out.write_all(&[self.sep])?;
        }
        self.first_cell = false;
        let mark = if self.decimal_comma { b',' } else { b'.' };
        let mut buf = [0u8; 48];
        self.out
            .write_all(fixed_digits(units, decimals, mark, &mut buf))
    }

    /// A cell of ASCII we formatted ourselves that needs no quoting (dates, codes).
    pub fn plain(&mut self, cell: &[u8]) -> io::Result<()> {
        if !self.first_cell {
            self.out.write_all(&[self.sep])?;
        }
        self.first_cell = false;
        self.out.write_all(cell)
    }

    /// Ends the row (CRLF, as RFC 4180 has it).
    pub fn end_row(&mut self) -> io::Result<()> {
        self.first_cell = true;
        self.out.write_all(b"\r\n")
    }

    /// A row of text cells.
    pub fn header(&mut self, cells: &[&str]) -> io::Result<()> {
        for c in cells {
            self.text(c)?;
        }
        self.end_row()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("{0}")]
    Options(String),
    #[error("writing the file: {0}")]
    Io(#[from] io::Error),
}

/// The digits of `units` of `10^-decimals` (at most 20 decimals) with `mark` before the
/// decimals, at the end of `buf`.
fn fixed_digits(units: i64, decimals: u32, mark: u8, buf: &mut [u8; 48]) -> &[u8] {
    let decimals = decimals.min(20);
    let mut n = units.unsigned_abs();
    let mut i = buf.len();
    let mut written = 0;
    loop {
        if written == decimals && decimals > 0 {
            i -= 1;
            buf[i] = mark;
        }
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        written += 1;
        if n == 0 && written > decimals {
            break;
        }
    }
    if units < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// `units` of `10^-decimals` as a decimal string: `fixed(-1234, 2)` is "-12.34".
pub fn fixed(units: i64, decimals: u32) -> String {
    let mut buf = [0u8; 48];
    String::from_utf8_lossy(fixed_digits(units, decimals, b'.', &mut buf)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(options: &CsvOptions, f: impl FnOnce(&mut CsvWriter<Vec<u8>>)) -> String {
        let mut w = CsvWriter::new(Vec::new(), options).expect("test step");
        f(&mut w);
        w.end_row().expect("test step");
        String::from_utf8(w.into_inner()).expect("test step")
    }

    #[test]
    fn quotes_only_what_needs_it_and_neutralises_formulas() {
        let o = CsvOptions::default();
        let s = row(&o, |w| {
            for c in [
                "plain",
                "a,b",
                "say \"hi\"",
                "two\nlines",
                "=1+1",
                "+46",
                "@SUM",
                "-x",
                "å",
            ] {
                w.text(c).expect("test step");
            }
            w.number("-12.50").expect("test step");
        });
        assert_eq!(
            s,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",'=1+1,'+46,'@SUM,'-x,å,-12.50\r\n"
        );
    }

    #[test]
    fn decimal_comma_with_semicolons_and_a_bom() {
        let o = CsvOptions {
            separator: ";".into(),
            decimal_comma: true,
            bom: true,
        };
        let s = row(&o, |w| {
            w.number("68.75").expect("test step");
            w.text("a;b").expect("test step");
            w.text("1,5").expect("test step");
        });
        assert_eq!(s, "\u{feff}68,75;\"a;b\";1,5\r\n");
    }

    #[test]
    fn refuses_a_decimal_comma_between_commas_and_unknown_separators() {
        let comma = CsvOptions {
            decimal_comma: true,
            ..CsvOptions::default()
        };
        assert!(CsvWriter::new(Vec::new(), &comma).is_err());
        let pipe = CsvOptions {
            separator: "|".into(),
            ..CsvOptions::default()
        };
        assert!(pipe.check().expect_err("refused").contains("separator"));
    }

    #[test]
    fn fixed_point() {
        assert_eq!(fixed(-1234, 2), "-12.34");
        assert_eq!(fixed(5, 3), "0.005");
        assert_eq!(fixed(-5, 2), "-0.05");
        assert_eq!(fixed(42, 0), "42");
        assert_eq!(fixed(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(fixed(0, 2), "0.00");
        assert_eq!(fixed(-7, 0), "-7");
    }
}
