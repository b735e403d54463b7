#!/bin/sh
# Assemble the system test guests: each guests/tests/NAME.asm becomes NAME.bin
# (a multiboot kernel, or a 64 KiB ROM for rom.asm). The binaries are committed;
# test/system/guests.test.ts checks that they match these sources when nasm is
# installed (Debian: apt-get install nasm).
set -e
cd "$(dirname "$0")"
out="${1:-.}"
for src in *.asm; do
  nasm -f bin -w+all -I ./ -o "$out/${src%.asm}.bin" "$src"
done
