use super::*;

/// The runs `(text, tok)` of each line of `code` highlighted as `lang`. Decodes what `Emit`
/// wrote (one absolute SGR sequence a change), so it also checks what reaches the terminal.
fn runs(lang: &str, code: &str) -> Vec<Vec<(String, Option<Tok>)>> {
    let mut h = Highlighter::new(lang).unwrap_or_else(|| panic!("{lang} is known"));
    let mut lines = Vec::new();
    for line in code.split('\n') {
        let mut out = Vec::new();
        let mut e = Emit::new(&mut out, true);
        assert!(h.line(line, Style::PLAIN, &mut e));
        e.end();
        let s = String::from_utf8(out).expect("utf8");
        // Every byte of the line written exactly once: the text comes back without the SGRs.
        let (plain, parsed) = split_sgr(&s);
        assert_eq!(plain, line, "{lang}: {s:?}");
        lines.push(parsed);
    }
    lines
}

/// The text of `s` without its SGR sequences, and its runs with the token each colour names.
fn split_sgr(s: &str) -> (String, Vec<(String, Option<Tok>)>) {
    let all = [
        Tok::Plain,
        Tok::Keyword,
        Tok::Type,
        Tok::Const,
        Tok::Str,
        Tok::Comment,
        Tok::Func,
        Tok::Var,
        Tok::Meta,
        Tok::Key,
        Tok::Tag,
        Tok::Attr,
        Tok::Added,
        Tok::Removed,
        Tok::Hunk,
        Tok::Header,
    ];
    let mut plain = String::new();
    let mut parsed: Vec<(String, Option<Tok>)> = Vec::new();
    let mut cur = Some(Tok::Plain);
    let mut rest = s;
    while let Some(p) = rest.find('\x1b') {
        if p > 0 {
            plain.push_str(&rest[..p]);
            parsed.push((rest[..p].to_string(), cur));
        }
        let end = rest[p..].find('m').expect("SGR end") + p;
        let sgr = &rest.as_bytes()[p..=end];
        // Which token's style writes exactly this sequence (the first when several share a
        // colour, e.g. strings and added lines; `None` when none does).
        let matching: Vec<Tok> = all
            .iter()
            .copied()
            .filter(|t| {
                let mut want = Vec::new();
                t.style().sgr(&mut want, true);
                want == sgr || (*t == Tok::Plain && sgr == b"\x1b[0m")
            })
            .collect();
        cur = matching.first().copied();
        rest = &rest[end + 1..];
    }
    if !rest.is_empty() {
        plain.push_str(rest);
        parsed.push((rest.to_string(), cur));
    }
    (plain, parsed)
}

/// The token `needle` (the first run containing it, whole) is coloured as.
fn tok_of(line: &[(String, Option<Tok>)], needle: &str) -> Tok {
    let run = line
        .iter()
        .find(|(t, _)| t.trim() == needle)
        .or_else(|| line.iter().find(|(t, _)| t.contains(needle)))
        .unwrap_or_else(|| panic!("{needle:?} in {line:?}"));
    run.1
        .unwrap_or_else(|| panic!("{needle:?}: unknown colour"))
}

/// Same-coloured neighbours merge, so compare the token of the run that holds the word.
fn is(lines: &[Vec<(String, Option<Tok>)>], row: usize, needle: &str, want: Tok) {
    let got = tok_of(&lines[row], needle);
    // Strings and added lines share a colour; so do functions, keys and tags; types and
    // attributes; variables and hunks: the decoder reports the first.
    let same = |a: Tok, b: Tok| a.style() == b.style();
    assert!(
        same(got, want),
        "row {row} {needle:?}: {got:?}, want {want:?}: {lines:?}"
    );
}

#[test]
fn unknown_or_empty_language_is_none_and_names_aliases_extensions_work() {
    for lang in [
        "",
        "klingon",
        "no-such-language",
        " ",
        "a-very-long-name-past-the-buffer",
    ] {
        assert!(Highlighter::new(lang).is_none(), "{lang:?}");
    }
    for lang in [
        "python",
        "py",
        "Python3",
        "py3",
        "rust",
        "rs",
        "c",
        "h",
        "cpp",
        "c++",
        "hpp",
        "go",
        "golang",
        "java",
        "javascript",
        "js",
        "jsx",
        "node",
        "typescript",
        "ts",
        "tsx",
        "bash",
        "sh",
        "zsh",
        "shell",
        "console",
        "shell-session",
        "ruby",
        "rb",
        "php",
        "csharp",
        "cs",
        "c#",
        "kotlin",
        "kt",
        "swift",
        "sql",
        "SQL",
        "json",
        "yaml",
        "yml",
        "toml",
        "ini",
        "html",
        "xml",
        "svg",
        "css",
        "scss",
        "lua",
        "diff",
        "patch",
        "dockerfile",
        "Dockerfile",
        "makefile",
        "make",
        ".py",
    ] {
        assert!(Highlighter::new(lang).is_some(), "{lang:?}");
    }
}

#[test]
fn python_keywords_strings_comments_numbers_and_state() {
    let l = runs(
        "python",
        "def f(x):  # if not here\n    s = \"for in str\" + 'while'\n    return 0x1F + 3.5e-2\n\
         t = \"\"\"open if\nstill def = 1\nend\"\"\" if x else None\n@decorator\nr = rb'\\d' or f\"{x}\"",
    );
    is(&l, 0, "def", Tok::Keyword);
    is(&l, 0, "f", Tok::Func);
    is(&l, 0, "# if not here", Tok::Comment);
    is(&l, 1, "\"for in str\"", Tok::Str);
    is(&l, 1, "'while'", Tok::Str);
    is(&l, 2, "return", Tok::Keyword);
    is(&l, 2, "0x1F", Tok::Const);
    is(&l, 2, "3.5e-2", Tok::Const);
    is(&l, 3, "\"\"\"open if", Tok::Str);
    // The triple-quoted string goes on: the whole line is one string run.
    assert_eq!(l[4], vec![("still def = 1".to_string(), Some(Tok::Str))]);
    is(&l, 5, "end\"\"\"", Tok::Str);
    is(&l, 5, "if", Tok::Keyword);
    is(&l, 5, "None", Tok::Const);
    is(&l, 6, "@decorator", Tok::Meta);
    is(&l, 7, "rb'\\d'", Tok::Str);
    is(&l, 7, "f\"{x}\"", Tok::Str);
    is(&l, 7, "or", Tok::Keyword);
}

#[test]
fn rust_strings_lifetimes_chars_raw_strings_block_comments() {
    let l = runs(
        "rust",
        "fn f<'a>(x: &'a str) -> u8 { let c = '\\n'; let d = 'z'; 42 }\n\
         let s = \"multi\nline fn\";\nlet r = r#\"raw \"quote\" fn\"#;\n/* block fn\nstill */ let\n\
         #[derive(Debug)]\nprintln!(\"{}\", x != y); // trailing fn\nlet o = Some(Foo::BAR);",
    );
    is(&l, 0, "fn", Tok::Keyword);
    is(&l, 0, "'a", Tok::Meta);
    is(&l, 0, "u8", Tok::Type);
    is(&l, 0, "'\\n'", Tok::Str);
    is(&l, 0, "'z'", Tok::Str);
    is(&l, 0, "42", Tok::Const);
    is(&l, 1, "\"multi", Tok::Str);
    assert_eq!(l[2][0], ("line fn\"".to_string(), Some(Tok::Str)));
    is(&l, 3, "r#\"raw \"quote\" fn\"#", Tok::Str);
    is(&l, 4, "/* block fn", Tok::Comment);
    is(&l, 5, "still */", Tok::Comment);
    is(&l, 5, "let", Tok::Keyword);
    is(&l, 6, "#[derive(Debug)]", Tok::Meta);
    is(&l, 7, "println!", Tok::Func);
    is(&l, 7, "// trailing fn", Tok::Comment);
    is(&l, 8, "Some", Tok::Const);
    is(&l, 8, "Foo", Tok::Type);
    is(&l, 8, "BAR", Tok::Const);
}

#[test]
fn c_family_and_go_java_csharp_kotlin_swift() {
    let l = runs(
        "c",
        "#include <stdio.h>\nint main(void) { /* if */ return printf(\"while %d\\n\", 1); }",
    );
    is(&l, 0, "#include", Tok::Meta);
    is(&l, 1, "int", Tok::Type);
    is(&l, 1, "/* if */", Tok::Comment);
    is(&l, 1, "return", Tok::Keyword);
    is(&l, 1, "printf", Tok::Func);
    is(&l, 1, "\"while %d\\n\"", Tok::Str);
    let l = runs("cpp", "auto s = R\"(raw\nif)\"; class A {};");
    is(&l, 0, "R\"(raw", Tok::Str);
    is(&l, 1, "if)\"", Tok::Str);
    is(&l, 1, "class", Tok::Keyword);
    let l = runs("go", "func main() {\n\ts := `raw\nfunc` // go\n}");
    is(&l, 0, "func", Tok::Keyword);
    is(&l, 2, "func`", Tok::Str);
    is(&l, 2, "// go", Tok::Comment);
    let l = runs("java", "@Override public String s = \"\"\"\nclass\n\"\"\";");
    is(&l, 0, "@Override", Tok::Meta);
    is(&l, 0, "public", Tok::Keyword);
    is(&l, 0, "String", Tok::Type);
    assert_eq!(l[1], vec![("class".to_string(), Some(Tok::Str))]);
    let l = runs("cs", "var p = @\"C:\\dir\nnamespace\"; using X;");
    is(&l, 0, "@\"C:\\dir", Tok::Str);
    is(&l, 1, "namespace\"", Tok::Str);
    is(&l, 1, "using", Tok::Keyword);
    let l = runs("kotlin", "fun main() { val x = null }");
    is(&l, 0, "fun", Tok::Keyword);
    is(&l, 0, "null", Tok::Const);
    let l = runs("swift", "guard let x = y else { return nil }");
    is(&l, 0, "guard", Tok::Keyword);
    is(&l, 0, "nil", Tok::Const);
}

#[test]
fn javascript_typescript_template_strings_carry() {
    let l = runs(
        "ts",
        "const $el: string = `a ${x}\nfunction` + 'if'; // const\nlet n = null",
    );
    is(&l, 0, "const", Tok::Keyword);
    is(&l, 0, "string", Tok::Type);
    is(&l, 0, "`a ${x}", Tok::Str);
    is(&l, 1, "function`", Tok::Str);
    is(&l, 1, "'if'", Tok::Str);
    is(&l, 1, "// const", Tok::Comment);
    is(&l, 2, "null", Tok::Const);
}

#[test]
fn shell_variables_comments_at_word_start_and_strings() {
    let l = runs(
        "bash",
        "if [ -n \"$HOME\" ]; then echo ${#arr[@]} $1 # done\nfi\nsed --in-place s/a#b/c/ 'a\nfi'",
    );
    is(&l, 0, "if", Tok::Keyword);
    is(&l, 0, "\"$HOME\"", Tok::Str);
    is(&l, 0, "then", Tok::Keyword);
    is(&l, 0, "echo", Tok::Type);
    is(&l, 0, "${#arr[@]}", Tok::Var);
    is(&l, 0, "$1", Tok::Var);
    is(&l, 0, "# done", Tok::Comment);
    is(&l, 1, "fi", Tok::Keyword);
    // `#` inside a word is not a comment; `in` inside an option is not a keyword.
    is(&l, 2, "--in-place", Tok::Plain);
    is(&l, 2, "s/a#b/c/", Tok::Plain);
    is(&l, 2, "'a", Tok::Str);
    is(&l, 3, "fi'", Tok::Str);
}

#[test]
fn ruby_php_lua_sql() {
    let l = runs("ruby", "def ok?(x) = @count + :sym # end\nputs \"end\"");
    is(&l, 0, "def", Tok::Keyword);
    is(&l, 0, "@count", Tok::Var);
    is(&l, 0, ":sym", Tok::Const);
    is(&l, 0, "# end", Tok::Comment);
    is(&l, 1, "\"end\"", Tok::Str);
    let l = runs("php", "<?php function f($x) { return $x . 'echo'; } # if");
    is(&l, 0, "function", Tok::Keyword);
    is(&l, 0, "$x", Tok::Var);
    is(&l, 0, "'echo'", Tok::Str);
    is(&l, 0, "# if", Tok::Comment);
    let l = runs(
        "lua",
        "local s = [[long\nend]] --[[ block\nlocal ]] -- line end",
    );
    is(&l, 0, "local", Tok::Keyword);
    is(&l, 0, "[[long", Tok::Str);
    is(&l, 1, "end]]", Tok::Str);
    is(&l, 1, "--[[ block", Tok::Comment);
    is(&l, 2, "local ]]", Tok::Comment);
    is(&l, 2, "-- line end", Tok::Comment);
    let l = runs(
        "sql",
        "SELECT name, count(*) FROM users WHERE note = 'select ''from''' -- where\nAND id = 42;",
    );
    is(&l, 0, "SELECT", Tok::Keyword);
    is(&l, 0, "FROM", Tok::Keyword);
    is(&l, 0, "'select ''from'''", Tok::Str);
    is(&l, 0, "-- where", Tok::Comment);
    is(&l, 1, "AND", Tok::Keyword);
    is(&l, 1, "42", Tok::Const);
}

#[test]
fn data_formats_json_yaml_toml() {
    let l = runs(
        "json",
        "{\"key\": \"value: true\", \"n\": -1.5e3, \"b\": true, \"z\": null}",
    );
    is(&l, 0, "\"key\"", Tok::Key);
    is(&l, 0, "\"value: true\"", Tok::Str);
    is(&l, 0, "1.5e3", Tok::Const);
    is(&l, 0, "true", Tok::Const);
    let l = runs(
        "yaml",
        "name: app # comment\n- image: \"x:1\"\n  replicas: 3\nurl: http://a#b\non: true",
    );
    is(&l, 0, "name", Tok::Key);
    is(&l, 0, "app", Tok::Plain);
    is(&l, 0, "# comment", Tok::Comment);
    is(&l, 1, "image", Tok::Key);
    is(&l, 1, "\"x:1\"", Tok::Str);
    is(&l, 2, "replicas", Tok::Key);
    is(&l, 2, "3", Tok::Const);
    is(&l, 3, "http://a#b", Tok::Plain);
    is(&l, 4, "true", Tok::Const);
    let l = runs(
        "toml",
        "[package]\nname = \"q#s\" # c\nv = 1\ns = '''\nname = x\n'''\nok = true",
    );
    is(&l, 0, "[package]", Tok::Type);
    is(&l, 1, "name", Tok::Key);
    is(&l, 1, "\"q#s\"", Tok::Str);
    is(&l, 1, "# c", Tok::Comment);
    is(&l, 2, "1", Tok::Const);
    assert_eq!(l[4], vec![("name = x".to_string(), Some(Tok::Str))]);
    is(&l, 6, "true", Tok::Const);
}

#[test]
fn markup_tags_attributes_comments_across_lines() {
    let l = runs(
        "html",
        "<div class=\"a b\" id='x'>if &amp; <b>bold</b></div>\n<!-- a\n<p> -->\n<img\n  src=\"a\n b\" />text",
    );
    is(&l, 0, "<div", Tok::Tag);
    is(&l, 0, "class", Tok::Attr);
    is(&l, 0, "\"a b\"", Tok::Str);
    is(&l, 0, "'x'", Tok::Str);
    is(&l, 0, "&amp;", Tok::Const);
    is(&l, 0, "bold", Tok::Plain);
    is(&l, 0, "</b", Tok::Tag);
    is(&l, 1, "<!-- a", Tok::Comment);
    is(&l, 2, "<p> -->", Tok::Comment);
    is(&l, 3, "<img", Tok::Tag);
    is(&l, 4, "src", Tok::Attr);
    is(&l, 4, "\"a", Tok::Str);
    is(&l, 5, "b\"", Tok::Str);
    is(&l, 5, "/>", Tok::Tag);
    is(&l, 5, "text", Tok::Plain);
}

#[test]
fn css_diff_dockerfile_makefile_ini() {
    let l = runs(
        "css",
        "a:hover { color: #fff; width: 10px !important } /* if */",
    );
    is(&l, 0, "color", Tok::Key);
    is(&l, 0, "#fff", Tok::Const);
    is(&l, 0, "10px", Tok::Const);
    is(&l, 0, "!important", Tok::Keyword);
    is(&l, 0, "/* if */", Tok::Comment);
    let l = runs("diff", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n ctx");
    is(&l, 0, "--- a/x", Tok::Header);
    is(&l, 2, "@@ -1 +1 @@", Tok::Hunk);
    is(&l, 3, "-old", Tok::Removed);
    is(&l, 4, "+new", Tok::Added);
    is(&l, 5, "ctx", Tok::Plain);
    let l = runs(
        "dockerfile",
        "FROM rust:1 AS build\nRUN echo \"$HOME\" # RUN",
    );
    is(&l, 0, "FROM", Tok::Keyword);
    is(&l, 0, "AS", Tok::Keyword);
    is(&l, 1, "\"$HOME\"", Tok::Str);
    is(&l, 1, "# RUN", Tok::Comment);
    let l = runs(
        "make",
        "all: build\n\t$(CC) -o $@ main.c # ifeq\nifeq ($(X),1)",
    );
    is(&l, 0, "all", Tok::Key);
    is(&l, 1, "$(CC)", Tok::Var);
    is(&l, 1, "$@", Tok::Var);
    is(&l, 1, "# ifeq", Tok::Comment);
    is(&l, 2, "ifeq", Tok::Keyword);
    let l = runs("ini", "[core]\neditor = vim ; note");
    is(&l, 0, "[core]", Tok::Type);
    is(&l, 1, "editor", Tok::Key);
    is(&l, 1, "; note", Tok::Comment);
}

#[test]
fn every_byte_is_written_once_for_odd_input() {
    // Unterminated and odd constructs in every family: `runs` checks the text comes back.
    let odd = "'\"`\\ \u{e9}'\u{4e2d}\"\\\n#\t$ ${ $( @ : :: ' r#\" 0x 1e+ <!-- <a b='\n\
               */ \"\"\" ''' [[ ]] --[[ <? & &#; @@ +- \u{1F600} 'a' '\\u{1F600}' '\u{e9}'";
    for lang in [
        "python",
        "rust",
        "c",
        "cpp",
        "go",
        "java",
        "js",
        "bash",
        "ruby",
        "php",
        "cs",
        "kotlin",
        "swift",
        "sql",
        "json",
        "yaml",
        "toml",
        "ini",
        "html",
        "css",
        "lua",
        "diff",
        "dockerfile",
        "make",
    ] {
        runs(lang, odd);
        runs(lang, "");
    }
}

#[test]
fn colours_follow_the_terminal_and_sit_on_the_base_style() {
    let mut h = Highlighter::new("py").expect("py");
    let mut out = Vec::new();
    let mut e = Emit::new(&mut out, false);
    h.line("def", Style::PLAIN.dim(), &mut e);
    e.end();
    // 256 colours on a terminal without truecolor, on top of the base (dim).
    assert!(
        out.starts_with(b"\x1b[0;2;38;5;"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
}

/// The scan that compares delimiters only at the bytes that can start one, and looks a word up
/// only when its length and first letter pass the filter, gives what the full comparison at
/// every byte gives, line by line with the state carried, on generated lines made of every
/// delimiter of every family, listed words in both cases, other words, numbers and odd bytes.
#[test]
fn the_start_byte_filter_changes_nothing() {
    let langs = [
        "python",
        "rust",
        "c",
        "cpp",
        "go",
        "java",
        "js",
        "bash",
        "ruby",
        "php",
        "cs",
        "kotlin",
        "swift",
        "sql",
        "json",
        "yaml",
        "toml",
        "ini",
        "css",
        "lua",
        "dockerfile",
        "make",
    ];
    // Every delimiter of every family, and then some.
    let mut atoms: Vec<String> = Vec::new();
    for lang in langs {
        let spec = langs::find(lang).expect("known");
        for &(o, c) in spec.block {
            atoms.push(o.into());
            atoms.push(c.into());
        }
        atoms.extend(spec.line.iter().map(|s| s.to_string()));
        for q in spec.strings {
            atoms.push(q.open.into());
            atoms.push(q.close.into());
        }
        atoms.extend(spec.str_prefix.iter().map(|&b| char::from(b).to_string()));
        for list in [spec.keywords, spec.consts, spec.types] {
            for w in list.iter().take(4) {
                atoms.push(w.to_string());
                atoms.push(w.to_ascii_uppercase());
            }
        }
    }
    for a in [
        " ", "\t", "x", "foo", "Bar", "42", "0x1f", "1e+3", "(", ")", "[", "]", "{", "}", ":", "=",
        "\\", "$", "${", "@", "!", "'", "\"", "#", "r#\"", "\"#", "é", "中", "😀", "\u{7}",
    ] {
        atoms.push(a.into());
    }
    let mut rng = crate::testing::Xorshift(0x2545_f491_4f6c_dd1du64);
    let mut next = |n: usize| rng.below(n);
    let lines: Vec<String> = (0..400)
        .map(|_| {
            (0..next(24))
                .map(|_| atoms[next(atoms.len())].as_str())
                .collect()
        })
        .collect();
    for lang in langs {
        let spec = langs::find(lang).expect("known");
        let filtered = Starts::of(spec);
        let (mut s1, mut s2) = (State::Code, State::Code);
        for line in &lines {
            let write = |starts: &Starts, state: State| {
                let mut buf = Vec::new();
                let mut e = Emit::new(&mut buf, true);
                let mut out = Runs {
                    line,
                    base: Style::PLAIN,
                    e: &mut e,
                    start: 0,
                    pos: 0,
                    tok: Tok::Plain,
                };
                let next = code(spec, starts, state, line, &mut out);
                out.finish();
                e.end();
                (buf, next)
            };
            let (a, n1) = write(&filtered, s1);
            let (b, n2) = write(&Starts::ALL, s2);
            assert_eq!(a, b, "{lang}: {line:?}");
            assert_eq!(n1, n2, "{lang}: {line:?}");
            (s1, s2) = (n1, n2);
        }
    }
}
