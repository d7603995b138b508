// csim_main.cpp -- the HLS IP of a codesign deploy package (--ip hls) in C simulation, on DMA words.
//
// Why: the wrapper (codesign_axi.cpp) and the hls4ml project it calls are C++; compiled here with g++
// against hls4ml's ap_types they run the very code Vitis HLS synthesises, fed with the same DMA words
// the driver packs for the board. The driver's `csim` backend (pynq/csim_backend.py) uses it, so
// check.py --backend csim compares the HLS IP's output integers with the emulator's.
//     csim IN.bin OUT.bin      IN.bin: the send buffer's words (little-endian, IN_BYTES each);
//                              OUT.bin: the words received, then one tlast byte per word
#include <cstdio>
#include <vector>

#include "codesign_axi.cpp"

static const int IN_BITS = decltype(in_word_t::data)::width;
static const int OUT_BITS = decltype(out_word_t::data)::width;
static const int IN_BYTES = IN_BITS / 8, OUT_BYTES = OUT_BITS / 8;

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s IN.bin OUT.bin\n", argv[0]);
        return 2;
    }
    FILE *f = std::fopen(argv[1], "rb");
    if (!f) { std::perror(argv[1]); return 2; }
    std::vector<unsigned char> in;
    int c;
    while ((c = std::fgetc(f)) != EOF) in.push_back((unsigned char)c);
    std::fclose(f);
    if (in.size() % IN_BYTES || (in.size() / IN_BYTES) % IN_BEATS) {
        std::fprintf(stderr, "csim: %zu bytes are not whole samples of %d words of %d bytes\n", in.size(), IN_BEATS, IN_BYTES);
        return 2;
    }
    const size_t words = in.size() / IN_BYTES;
    hls::stream<in_word_t> s_axis;
    hls::stream<out_word_t> m_axis;
    for (size_t i = 0; i < words; i++) {
        in_word_t w;
        w.data = 0;
        for (int k = 0; k < IN_BYTES; k++) w.data.range(8 * k + 7, 8 * k) = in[i * IN_BYTES + k];
        w.keep = -1;
        w.strb = -1;
        w.last = i + 1 == words;  // the DMA's tlast on the send buffer's last word
        s_axis.write(w);
    }
    for (size_t s = 0; s < words / IN_BEATS; s++) codesign_axi(s_axis, m_axis);  // one sample a call
    std::vector<unsigned char> out, last;
    while (!m_axis.empty()) {
        out_word_t w = m_axis.read();
        for (int k = 0; k < OUT_BYTES; k++) out.push_back((unsigned char)(unsigned)w.data.range(8 * k + 7, 8 * k));
        last.push_back((unsigned char)(unsigned)w.last);
    }
    f = std::fopen(argv[2], "wb");
    if (!f) { std::perror(argv[2]); return 2; }
    std::fwrite(out.data(), 1, out.size(), f);
    std::fwrite(last.data(), 1, last.size(), f);
    std::fclose(f);
    return 0;
}
