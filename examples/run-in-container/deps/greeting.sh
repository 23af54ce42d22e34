# A stand-in dependency: sourced by the app and its tests.
greeting() { printf 'hello, %s\n' "$1"; }
