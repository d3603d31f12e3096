//! Public data for the home page.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A county in the programme with how many households and co-ops/enterprises it has here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountySummary {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub city_name: Option<String>,
    pub city_name_en: Option<String>,
    pub households: i64,
    pub organisations: i64,
}

impl CountySummary {
    /// The county's name in `lang` (the Chinese one when there is no English name).
    pub fn name_in(&self, lang: crate::i18n::Lang) -> String {
        match lang {
            crate::i18n::Lang::En => self.name_en.clone().unwrap_or_else(|| self.name.clone()),
            crate::i18n::Lang::Zh => self.name.clone(),
        }
    }

    /// Its city's name in `lang`.
    pub fn city_in(&self, lang: crate::i18n::Lang) -> String {
        match lang {
            crate::i18n::Lang::En => self
                .city_name_en
                .clone()
                .or_else(|| self.city_name.clone())
                .unwrap_or_default(),
            crate::i18n::Lang::Zh => self.city_name.clone().unwrap_or_default(),
        }
    }
}

/// The counties in the data, with their numbers of households and co-ops. Public.
#[server(prefix = "/api", endpoint = "home/counties", output = crate::codec::Json)]
pub async fn county_summaries() -> Result<Vec<CountySummary>, AppError> {
    crate::home::server::county_summaries().await
}

/// One county, for its page (`/county/:code`): 404 if there is no such county. Public.
#[server(prefix = "/api", endpoint = "home/county", output = crate::codec::Json)]
pub async fn county(code: String) -> Result<CountySummary, AppError> {
    crate::home::server::county_summary(&code).await
}
