//! Shortens the names by which the module imports the wasm-bindgen glue
//! (`__wbg_addEventListener_b9481c2c2cab6047` → `$5`), in the module's
//! import section and in the glue alike. Each name appears in both, and
//! their hash suffixes barely compress: this saves a few kB of the page.

use std::collections::HashMap;

use crate::Result;

fn leb(bytes: &[u8], pos: &mut usize) -> Result<u32> {
    let mut v: u64 = 0;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(*pos).ok_or("truncated module")?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return u32::try_from(v).map_err(|_| "LEB128 out of range".into());
        }
    }
    Err("LEB128 too long".into())
}

fn put_leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn name<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<&'a str> {
    let len = leb(bytes, pos)? as usize;
    let s = bytes.get(*pos..*pos + len).ok_or("truncated name")?;
    *pos += len;
    std::str::from_utf8(s).map_err(|_| "name is not UTF-8".into())
}

/// Skips an import's description (function, table, memory, global).
fn skip_desc(bytes: &[u8], pos: &mut usize) -> Result {
    let kind = *bytes.get(*pos).ok_or("truncated import")?;
    *pos += 1;
    let limits = |pos: &mut usize| -> Result {
        let flags = leb(bytes, pos)?;
        leb(bytes, pos)?;
        if flags & 1 == 1 {
            leb(bytes, pos)?;
        }
        Ok(())
    };
    match kind {
        0 => leb(bytes, pos).map(|_| ()),
        1 => {
            *pos += 1; // element type
            limits(pos)
        }
        2 => limits(pos),
        3 => {
            *pos += 2; // value type, mutability
            Ok(())
        }
        k => Err(format!("unknown import kind {k}")),
    }
}

const GLUE_MODULE: &str = "$";

/// The rename table's key for a module name: the glue writes it as a
/// quoted property name.
fn module_key(m: &str) -> String {
    ["\"", m, "\""].concat()
}

fn short(i: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    let mut s = String::from("$");
    let mut n = i;
    loop {
        s.push(DIGITS[n % DIGITS.len()] as char);
        n /= DIGITS.len();
        if n == 0 {
            return s;
        }
    }
}

/// Returns the module and the glue with the `wbg` imports renamed.
pub(crate) fn shorten(wasm: &[u8], glue: &str) -> Result<(Vec<u8>, String)> {
    if wasm.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        return Err("not a wasm module".into());
    }
    let mut out = wasm[..8].to_vec();
    let mut renames = HashMap::new();
    let mut pos = 8;
    while pos < wasm.len() {
        let id = wasm[pos];
        pos += 1;
        let size = leb(wasm, &mut pos)? as usize;
        let body = wasm.get(pos..pos + size).ok_or("truncated section")?;
        pos += size;
        let new_body = if id == 2 { rename_imports(body, &mut renames)? } else { body.to_vec() };
        out.push(id);
        put_leb(&mut out, u32::try_from(new_body.len()).map_err(|_| "section too large")?);
        out.extend_from_slice(&new_body);
    }
    Ok((out, rename_tokens(glue, &renames)))
}

fn rename_imports(body: &[u8], renames: &mut HashMap<String, String>) -> Result<Vec<u8>> {
    let mut pos = 0;
    let count = leb(body, &mut pos)?;
    let mut out = Vec::with_capacity(body.len());
    put_leb(&mut out, count);
    for _ in 0..count {
        let module = name(body, &mut pos)?;
        let field = name(body, &mut pos)?;
        let desc_start = pos;
        skip_desc(body, &mut pos)?;
        // The glue's own import object: "wbg" in older wasm-bindgen,
        // "./call_web_bg.js" in newer ones. It becomes "$".
        let glue_module = module == "wbg" || module.ends_with("_bg.js");
        let (module, field) = if glue_module {
            let n = renames.len();
            renames.insert(module_key(module), GLUE_MODULE.to_string());
            (GLUE_MODULE, renames.entry(field.to_string()).or_insert_with(|| short(n)).clone())
        } else {
            (module, field.to_string())
        };
        for s in [module, field.as_str()] {
            put_leb(&mut out, s.len() as u32);
            out.extend_from_slice(s.as_bytes());
        }
        out.extend_from_slice(body.get(desc_start..pos).ok_or("truncated import")?);
    }
    if pos != body.len() {
        return Err("trailing bytes in the import section".into());
    }
    Ok(out)
}

/// Replaces whole identifier tokens only, so no name can clip another;
/// and the quoted module name.
fn rename_tokens(js: &str, renames: &HashMap<String, String>) -> String {
    let mut js = js.to_string();
    for (k, v) in renames.iter().filter(|(k, _)| k.starts_with('"')) {
        js = js.replace(k.as_str(), &["\"", v, "\""].concat());
    }
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let renames: HashMap<&str, &str> =
        renames.iter().filter(|(k, _)| !k.starts_with('"')).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut out = String::with_capacity(js.len());
    let mut token = String::new();
    for c in js.chars().chain(std::iter::once('\n')) {
        if is_ident(c) {
            token.push(c);
            continue;
        }
        out.push_str(renames.get(token.as_str()).copied().unwrap_or(&token));
        token.clear();
        out.push(c);
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // (module (import "wbg" "__wbg_long_name_0123" (func)) (import "env" "keep" (memory 1)))
    fn module() -> Vec<u8> {
        let mut imports = vec![2];
        for (m, f, desc) in [("wbg", "__wbg_long_name_0123", vec![0, 0]), ("env", "keep", vec![2, 0, 1])] {
            imports.push(m.len() as u8);
            imports.extend_from_slice(m.as_bytes());
            imports.push(f.len() as u8);
            imports.extend_from_slice(f.as_bytes());
            imports.extend(desc);
        }
        let mut w = b"\0asm\x01\0\0\0".to_vec();
        w.extend([1, 4, 1, 0x60, 0, 0]); // type section: one () -> ()
        w.push(2);
        w.push(imports.len() as u8);
        w.extend(imports);
        w
    }

    #[test]
    fn renames_in_module_and_glue_consistently() {
        let glue = "{\"wbg\": {__wbg_long_name_0123: function() {}}}; x.__wbg_long_name_01234; y.env.keep;";
        let (wasm, js) = shorten(&module(), glue).unwrap();
        assert_eq!(js, "{\"$\": {$0: function() {}}}; x.__wbg_long_name_01234; y.env.keep;");
        let text = String::from_utf8_lossy(&wasm);
        assert!(text.contains("$0") && text.contains("keep") && !text.contains("long_name") && !text.contains("wbg"));
        wasmparser::Validator::new().validate_all(&wasm).unwrap();
    }

    #[test]
    fn short_names_are_unique() {
        let names: std::collections::HashSet<String> = (0..5000).map(short).collect();
        assert_eq!(names.len(), 5000);
    }
}
