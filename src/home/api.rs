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

/// The counties in the data, with their numbers of households and co-ops. Public.
#[server(prefix = "/api", endpoint = "home/counties")]
pub async fn county_summaries() -> Result<Vec<CountySummary>, AppError> {
    crate::home::server::county_summaries().await
}
