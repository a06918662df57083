// Deliberate defects that scripts/asan.sh must see reported under its exact settings before it trusts
// a clean run: a heap-buffer-overflow (ASan), a signed integer overflow (UBSan, fatal with
// -fno-sanitize-recover) and a leak (LeakSanitizer, which needs ptrace-like access some containers
// deny). Built only with TL_SANITIZE_ADDRESS; not registered with CTest. Usage: asan_canary overflow|ub|leak
#include <climits>
#include <cstdlib>
#include <cstring>

volatile int gSink;

__attribute__((noinline)) void leak() {
    char* volatile p = static_cast<char*>(std::malloc(1234));
    p[0] = 1;
    gSink = p[0];
    p = nullptr;  // the last pointer to the block goes
}

// LeakSanitizer scans the stack conservatively: a stale copy of the pointer in a dead frame hid the
// leak now and then (CI failed the canary once). Overwrite that stack area before the check.
__attribute__((noinline)) void clobberStack() {
    volatile char pad[16384];
    for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = 0;
}

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const int extra = argc > 5;  // 0, unknown to the compiler
    if (!std::strcmp(argv[1], "overflow")) {
        volatile int n = 4 + extra;  // a size the compiler cannot see (else UBSan's object-size check fires first)
        int* p = new int[n];
        gSink = p[n];
        delete[] p;
        return 0;
    }
    if (!std::strcmp(argv[1], "ub")) {
        volatile int big = INT_MAX - extra;
        gSink = big + 1;
        return 0;
    }
    if (!std::strcmp(argv[1], "leak")) {
        leak();
        clobberStack();
        return 0;
    }
    return 2;
}
