//! QR codes as SVG: a payment's code on the pay page, and a shop's or listing's to print.

use crate::error::AppError;

/// `data` as a QR code in SVG, at least `min_px` square with its quiet zone, black on white;
/// without the XML declaration, so it may also stand inside an HTML page.
pub fn svg(data: &str, min_px: u32) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(data.as_bytes()).map_err(AppError::internal)?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(min_px, min_px)
        .quiet_zone(true)
        .build();
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_link_becomes_a_square_svg() {
        let s = super::svg("https://zhunong.example.cn/s/c12", 256).expect("encodes");
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"), "{s}");
        assert!(s.contains("width=\"") && s.contains("<path"), "{s}");
        let w: u32 = s
            .split("width=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(w >= 256, "{w}");
    }
}
