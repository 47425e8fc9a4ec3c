//! One way to read a row's columns on either backend, so a row type is built by one function
//! for SQLite and Postgres alike (the SQL shared too where the dialects agree: `$n`
//! placeholders, numbered in the order they first appear, read the same on both).

/// Binds the shared SQL's `$1`, `$2`… on SQLite by name (rusqlite reads `$n` as a named
/// parameter), so a query written once runs on both backends.
pub(crate) fn numbered<'a>(values: &'a [&'a dyn rusqlite::ToSql]) -> Vec<(&'static str, &'a dyn rusqlite::ToSql)> {
    const NAMES: [&str; 16] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$16"];
    NAMES.iter().copied().zip(values.iter().copied()).collect()
}

pub(crate) trait ReadRow {
    fn int(&self, index: usize) -> i64;
    fn opt_int(&self, index: usize) -> Option<i64>;
    fn text(&self, index: usize) -> String;
    fn opt_text(&self, index: usize) -> Option<String>;
    fn flag(&self, index: usize) -> bool;
}

// A column of the wrong type is a bug in the query next to it, not data a person can fix: both
// backends' readers panic alike (tokio-postgres's `get` does).
impl ReadRow for rusqlite::Row<'_> {
    fn int(&self, index: usize) -> i64 {
        self.get(index).expect("an integer column")
    }
    fn opt_int(&self, index: usize) -> Option<i64> {
        self.get(index).expect("an integer column")
    }
    fn text(&self, index: usize) -> String {
        self.get(index).expect("a text column")
    }
    fn opt_text(&self, index: usize) -> Option<String> {
        self.get(index).expect("a text column")
    }
    fn flag(&self, index: usize) -> bool {
        self.get(index).expect("a boolean column")
    }
}

/// A row's columns from an offset on: a joined row's second table read with that table's own
/// reader (`raw_channel(&ColumnsFrom(row, 13))`).
pub(crate) struct ColumnsFrom<'r, R>(pub(crate) &'r R, pub(crate) usize);

impl<R: ReadRow> ReadRow for ColumnsFrom<'_, R> {
    fn int(&self, index: usize) -> i64 {
        self.0.int(self.1 + index)
    }
    fn opt_int(&self, index: usize) -> Option<i64> {
        self.0.opt_int(self.1 + index)
    }
    fn text(&self, index: usize) -> String {
        self.0.text(self.1 + index)
    }
    fn opt_text(&self, index: usize) -> Option<String> {
        self.0.opt_text(self.1 + index)
    }
    fn flag(&self, index: usize) -> bool {
        self.0.flag(self.1 + index)
    }
}

impl ReadRow for tokio_postgres::Row {
    fn int(&self, index: usize) -> i64 {
        self.opt_int(index).expect("a non-null integer column")
    }
    /// `INTEGER` and `SMALLINT` columns too (SQLite's integers are all 64-bit; a Postgres table
    /// may keep a count or a position narrower).
    fn opt_int(&self, index: usize) -> Option<i64> {
        use tokio_postgres::types::Type;
        match *self.columns()[index].type_() {
            Type::INT4 => self.get::<_, Option<i32>>(index).map(i64::from),
            Type::INT2 => self.get::<_, Option<i16>>(index).map(i64::from),
            _ => self.get(index),
        }
    }
    fn text(&self, index: usize) -> String {
        self.get(index)
    }
    fn opt_text(&self, index: usize) -> Option<String> {
        self.get(index)
    }
    fn flag(&self, index: usize) -> bool {
        self.get(index)
    }
}
