//! A notebook's "Observed" section written from its run's data.
//!
//! Prose typed into a notebook goes stale: a code change moves the numbers and the text still
//! states the old ones, with every test green. Here each observation is a line rendered from the
//! run's values and, where the prose makes a claim ("every atom is recovered at K = 1"), the
//! condition that claim needs. [`Observed::show`] renders the list and fails — so the notebook,
//! and `make test`, fail — when a claimed condition no longer holds, naming the claim and what was
//! measured.
//!
//! ```
//! use dictlab::report::observed::Observed;
//! let clean_error_pct = 0.37;
//! let mut obs = Observed::new();
//! obs.line(format!("clean data: l4_error {clean_error_pct:.2} %"));
//! obs.claim("the clean error is below 1 %", clean_error_pct < 1.0, format!("{clean_error_pct:.2} %"));
//! assert!(obs.check().is_ok());
//! obs.claim("it is zero", clean_error_pct == 0.0, format!("{clean_error_pct:.2} %"));
//! assert!(obs.check().unwrap_err().to_string().contains("it is zero"));
//! ```

use crate::error::{Error, Result};

/// One observation.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    /// A measured statement (its numbers come from the data).
    Line(String),
    /// A claim, whether it holds, and what was measured.
    Claim {
        text: String,
        holds: bool,
        measured: String,
    },
}

/// The observations of one notebook section, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    items: Vec<Item>,
}

impl Observed {
    /// No observations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A statement whose numbers are formatted from the data (no condition).
    pub fn line(&mut self, text: impl Into<String>) -> &mut Self {
        self.items.push(Item::Line(text.into()));
        self
    }

    /// A claim of the prose, whether the data support it, and what was measured (shown beside it
    /// and in the error when it fails).
    pub fn claim(
        &mut self,
        text: impl Into<String>,
        holds: bool,
        measured: impl Into<String>,
    ) -> &mut Self {
        self.items.push(Item::Claim {
            text: text.into(),
            holds,
            measured: measured.into(),
        });
        self
    }

    /// The first claim that does not hold, as an error.
    ///
    /// # Errors
    /// [`Error::Claim`] for the first failing claim.
    pub fn check(&self) -> Result<()> {
        for it in &self.items {
            if let Item::Claim {
                text,
                holds: false,
                measured,
            } = it
            {
                return Err(Error::Claim {
                    claim: text.clone(),
                    measured: measured.clone(),
                });
            }
        }
        Ok(())
    }

    /// The observations as plain text, one bullet per line (claims marked "holds" or
    /// "DOES NOT HOLD" with what was measured).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for it in &self.items {
            match it {
                Item::Line(t) => s.push_str(&format!("- {t}\n")),
                Item::Claim {
                    text,
                    holds,
                    measured,
                } => s.push_str(&format!(
                    "- {text} — {} ({measured})\n",
                    if *holds { "holds" } else { "DOES NOT HOLD" }
                )),
            }
        }
        s
    }

    /// Number of claims, and how many hold.
    pub fn claims(&self) -> (usize, usize) {
        let mut n = 0;
        let mut ok = 0;
        for it in &self.items {
            if let Item::Claim { holds, .. } = it {
                n += 1;
                ok += usize::from(*holds);
            }
        }
        (n, ok)
    }

    /// Show the list (an HTML list in the notebook), then [`Observed::check`]: a claim that no
    /// longer holds fails the cell after it is shown.
    ///
    /// # Errors
    /// As [`Observed::check`].
    pub fn show(&self) -> Result<()> {
        let mut html = String::from("<ul class=\"dictlab-observed\">");
        for it in &self.items {
            match it {
                Item::Line(t) => html.push_str(&format!("<li>{}</li>", super::escape(t))),
                Item::Claim {
                    text,
                    holds,
                    measured,
                } => html.push_str(&format!(
                    "<li>{} <span style=\"color:{}\">[{}: {}]</span></li>",
                    super::escape(text),
                    if *holds { "#2a7a2a" } else { "#b00020" },
                    if *holds { "holds" } else { "DOES NOT HOLD" },
                    super::escape(measured)
                )),
            }
        }
        html.push_str("</ul>");
        super::show_html(&html);
        self.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_claims_render_in_order_and_a_failed_claim_is_an_error_naming_it() {
        let mut o = Observed::new();
        o.line("MSP clean: 0.37 %")
            .claim("below 1 %", true, "0.37 %")
            .claim("every atom recovered", false, "58 of 60");
        assert_eq!(
            o.to_text(),
            "- MSP clean: 0.37 %\n- below 1 % — holds (0.37 %)\n- every atom recovered — DOES NOT HOLD (58 of 60)\n"
        );
        assert_eq!(o.claims(), (2, 1));
        let e = o.check().unwrap_err().to_string();
        assert!(
            e.contains("every atom recovered") && e.contains("58 of 60") && e.contains("rewrite"),
            "{e}"
        );
        let mut ok = Observed::new();
        ok.claim("x", true, "1");
        assert!(ok.check().is_ok());
        assert_eq!(Observed::new().claims(), (0, 0));
    }
}
