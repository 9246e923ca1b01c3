#!/usr/bin/env bash
# Builds the libFuzzer target over decoding and detection (Fuzz/fuzz_decode_detect.swift)
# into .build-fuzz/fuzz_decode_detect, with AddressSanitizer, optimised (-O) as the daemon is.
# LightScopeCore is pure Swift whose dependencies are LightScopeFastTables (its tables, with a
# prefetch hint from the header in Sources/CPrefetch and the memory calls of its TableRemap.c,
# compiled here with clang) and the small system layer
# (Sources/LightScopeSystem: the heartbeat's clock), so plain swiftc suffices: each is compiled
# as a module of its own (instrumented for coverage), then the harness, the seeds and the tests'
# PacketBuilder are linked against them. `-package-name` as SwiftPM gives it: the tables open
# their code to Core at `package` access.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
out=.build-fuzz
mkdir -p "$out"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -I Sources/CPrefetch/include -package-name LightScope)

# Only the system layer's threads and clocks: its files part needs swift-system, and Core does not use it.
mapfile -t system < <(find Sources/LightScopeSystem/Threads Sources/LightScopeSystem/Clocks -name '*.swift' | sort)
mapfile -t tables < <(find Sources/LightScopeFastTables -name '*.swift' | sort)
mapfile -t core < <(find Sources/LightScopeCore -name '*.swift' | sort)
# Rebuilt only when a source is newer than the library: the harness alone builds in seconds.
if [ ! -f "$out/libLightScopeCore.a" ] || [ -n "$(find Sources/LightScopeCore Sources/LightScopeFastTables Sources/LightScopeSystem Sources/CPrefetch -newer "$out/libLightScopeCore.a")" ]; then
    # The tables' C part (mremap and madvise in TableRemap.c): every C file of the module, so
    # that a new one cannot be left out of the link.
    rm -f "$out/libCPrefetch.a"
    for source in Sources/CPrefetch/*.c; do
        clang -fsanitize=fuzzer-no-link,address -O2 -g -I Sources/CPrefetch/include \
            -c "$source" -o "$out/$(basename "$source" .c).o"
        ar rcs "$out/libCPrefetch.a" "$out/$(basename "$source" .c).o"
    done
    swiftc "${flags[@]}" -module-name LightScopeSystem -emit-module -emit-module-path "$out/LightScopeSystem.swiftmodule" \
    -emit-library -static -o "$out/libLightScopeSystem.a" "${system[@]}"
    swiftc "${flags[@]}" -module-name LightScopeFastTables -emit-module -emit-module-path "$out/LightScopeFastTables.swiftmodule" \
    -emit-library -static -o "$out/libLightScopeFastTables.a" "${tables[@]}"
    swiftc "${flags[@]}" -I "$out" -module-name LightScopeCore -emit-module -emit-module-path "$out/LightScopeCore.swiftmodule" \
    -emit-library -static -o "$out/libLightScopeCore.a" "${core[@]}"
fi
swiftc "${flags[@]}" -module-name FuzzDecodeDetect -I "$out" -L "$out" -lLightScopeCore -lLightScopeFastTables -lCPrefetch -lLightScopeSystem \
    Fuzz/fuzz_decode_detect.swift Fuzz/FuzzSeeds.swift Tests/LightScopeTestSupport/PacketBuilder.swift \
    -o "$out/fuzz_decode_detect"
echo "$out/fuzz_decode_detect"
