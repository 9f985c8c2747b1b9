//! Minimal argument parsing: positionals and `--flag value` pairs, with errors that name the flag.

pub struct Args {
    items: Vec<String>,
}

impl Args {
    pub fn new(items: Vec<String>) -> Self {
        Args { items }
    }

    /// Remove and return `--name value` (or `-n value` for a short alias).
    pub fn value(&mut self, names: &[&str]) -> Result<Option<String>, String> {
        let Some(i) = self.items.iter().position(|a| names.contains(&a.as_str())) else {
            return Ok(None);
        };
        if i + 1 >= self.items.len() {
            return Err(format!("{} needs a value", names[0]));
        }
        let v = self.items.remove(i + 1);
        self.items.remove(i);
        Ok(Some(v))
    }

    /// Remove and return whether a bare `--flag` is present.
    pub fn flag(&mut self, name: &str) -> bool {
        match self.items.iter().position(|a| a == name) {
            Some(i) => {
                self.items.remove(i);
                true
            }
            None => false,
        }
    }

    /// The next positional argument.
    pub fn positional(&mut self, what: &str) -> Result<String, String> {
        match self.items.iter().position(|a| !a.starts_with("--")) {
            Some(i) => Ok(self.items.remove(i)),
            None => Err(format!("missing {what}")),
        }
    }

    /// Fails on anything left over, so typos are not silently ignored.
    pub fn finish(self) -> Result<(), String> {
        match self.items.first() {
            None => Ok(()),
            Some(a) => Err(format!("unexpected argument `{a}`")),
        }
    }

    /// Parse a comma-separated list of integers, naming the flag on error.
    pub fn parse_ids(list: &str, flag: &str) -> Result<Vec<u32>, String> {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse::<u32>().map_err(|_| format!("{flag}: `{s}` is not a token id")))
            .collect()
    }
}
