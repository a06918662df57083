#include "export/animation_writer.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/rational.h>
#include <libswscale/swscale.h>
}

#include <QImage>
#include <QPainter>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <regex>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "util/error.h"
#include "util/files.h"

namespace tl::ui {

namespace {

namespace fs = std::filesystem;

constexpr int kMaxSide = 16384;
// The memory cap of one animation (issue 18 §4): the frames are streamed to the encoder one at a
// time, but the offscreen GL buffers, the read-back image, the colour conversion and x264's
// lookahead and reference frames all scale with the frame (~90 bytes a pixel in all, most of it the
// renderer's); 8192 x 8192 peaked at 4.36 GB, 4096 x 4096 at 1.8 GB. At most 12 million pixels a
// frame (4000 x 3000, any aspect), with x264's lookahead shortened for large frames, stays under
// 1.5 GB peak RSS (README, measured with transportlab-cli render).
constexpr long long kMaxPixels = 12'000'000;
constexpr double kMaxFps = 1000;
constexpr double kMaxGifFps = 50;

// libav reports through av_log; keep its chatter off stderr (x264 prints info lines) and remember the
// last error line of this thread so our messages can say what the library said.
thread_local std::string tLastAvError;

extern "C" void avLogCallback(void* avcl, int level, const char* fmt, va_list vl) {
    if (level > AV_LOG_ERROR) return;
    char line[512];
    int prefix = 1;
    av_log_format_line(avcl, level, fmt, vl, line, sizeof line, &prefix);
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (!s.empty()) tLastAvError = s;
}

void installAvLog() {
    static std::once_flag once;
    std::call_once(once, [] { av_log_set_callback(avLogCallback); });
}

std::string avErrorText(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, buf, sizeof buf);
    std::string s = buf;
    if (!tLastAvError.empty()) s += " (" + tLastAvError + ")";
    return s;
}

std::string lowerExtension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

// QImage in RGB32 (0xffRRGGBB), exactly w x h: alpha composited over black, scaled smoothly.
QImage toRgb32(const QImage& image, int w, int h) {
    QImage img = image;
    if (img.size() != QSize(w, h)) img = img.scaled(w, h, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    if (img.format() == QImage::Format_RGB32) return img;
    if (img.hasAlphaChannel()) {
        QImage out(w, h, QImage::Format_RGB32);
        out.fill(Qt::black);
        QPainter p(&out);
        p.drawImage(0, 0, img);
        p.end();
        return out;
    }
    return img.convertToFormat(QImage::Format_RGB32);
}

// ---- GIF colour quantisation -------------------------------------------------------------------
// Median cut over a 5-5-5 histogram (the box with the largest count x extent is split at its
// weighted median along its longest axis, so a dominant colour such as the background ends alone in
// its box and is reproduced exactly), then serpentine Floyd-Steinberg error diffusion. Frames with
// at most 256 distinct colours are written exactly, without dithering.
class GifQuantizer {
public:
    // img: RGB32, w x h. Writes indices (linesize) and a 256-entry 0xAARRGGBB palette.
    void quantize(const QImage& img, uint8_t* indices, int linesize, uint32_t* palette) {
        const int w = img.width(), h = img.height();
        if (exactPalette(img, indices, linesize, palette)) return;
        buildHistogram(img);
        medianCut();
        std::fill(palette, palette + 256, 0xff000000u);
        for (std::size_t b = 0; b < boxes_.size(); ++b) palette[b] = 0xff000000u | (pal_[b][0] << 16) | (pal_[b][1] << 8) | pal_[b][2];
        // Floyd-Steinberg, serpentine; errors in 1/16 units.
        std::vector<int> cur(static_cast<std::size_t>(w + 2) * 3, 0), next(cur.size(), 0);
        for (int y = 0; y < h; ++y) {
            const uint32_t* row = reinterpret_cast<const uint32_t*>(img.constScanLine(y));
            uint8_t* out = indices + static_cast<std::ptrdiff_t>(y) * linesize;
            const bool ltr = (y % 2) == 0;
            std::fill(next.begin(), next.end(), 0);
            for (int i = 0; i < w; ++i) {
                const int x = ltr ? i : w - 1 - i;
                const uint32_t px = row[x];
                int c[3] = {static_cast<int>((px >> 16) & 0xff), static_cast<int>((px >> 8) & 0xff), static_cast<int>(px & 0xff)};
                for (int k = 0; k < 3; ++k) c[k] = std::clamp(c[k] + (cur[(x + 1) * 3 + k] + (cur[(x + 1) * 3 + k] >= 0 ? 8 : -8)) / 16, 0, 255);
                const int idx = lookup(c[0], c[1], c[2]);
                out[x] = static_cast<uint8_t>(idx);
                const int dir = ltr ? 1 : -1;
                for (int k = 0; k < 3; ++k) {
                    const int e = c[k] - static_cast<int>(pal_[idx][k]);
                    if (e == 0) continue;
                    cur[(x + 1 + dir) * 3 + k] += e * 7;
                    next[(x + 1 - dir) * 3 + k] += e * 3;
                    next[(x + 1) * 3 + k] += e * 5;
                    next[(x + 1 + dir) * 3 + k] += e * 1;
                }
            }
            std::swap(cur, next);
        }
    }

private:
    struct Bin {
        uint16_t key;
        uint32_t count;
    };
    struct Box {
        int begin, end;  // into bins_
        uint64_t count;
        int axis, extent;
    };

    static int channel(uint16_t key, int axis) { return (key >> (10 - 5 * axis)) & 31; }

    // At most 256 distinct colours: an exact palette, no dithering.
    bool exactPalette(const QImage& img, uint8_t* indices, int linesize, uint32_t* palette) {
        std::vector<uint32_t> colours;
        colours.reserve(256);
        const int w = img.width(), h = img.height();
        uint32_t last = 0;
        int lastIdx = -1;
        for (int y = 0; y < h; ++y) {
            const uint32_t* row = reinterpret_cast<const uint32_t*>(img.constScanLine(y));
            uint8_t* out = indices + static_cast<std::ptrdiff_t>(y) * linesize;
            for (int x = 0; x < w; ++x) {
                const uint32_t px = row[x] | 0xff000000u;
                if (lastIdx < 0 || px != last) {
                    auto it = std::find(colours.begin(), colours.end(), px);
                    if (it == colours.end()) {
                        if (colours.size() == 256) return false;
                        colours.push_back(px);
                        it = colours.end() - 1;
                    }
                    last = px;
                    lastIdx = static_cast<int>(it - colours.begin());
                }
                out[x] = static_cast<uint8_t>(lastIdx);
            }
        }
        std::fill(palette, palette + 256, 0xff000000u);
        std::copy(colours.begin(), colours.end(), palette);
        return true;
    }

    void buildHistogram(const QImage& img) {
        count_.assign(32768, 0);
        sum_.assign(32768 * 3, 0);
        for (int y = 0; y < img.height(); ++y) {
            const uint32_t* row = reinterpret_cast<const uint32_t*>(img.constScanLine(y));
            for (int x = 0; x < img.width(); ++x) {
                const uint32_t r = (row[x] >> 16) & 0xff, g = (row[x] >> 8) & 0xff, b = row[x] & 0xff;
                const uint32_t key = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
                ++count_[key];
                sum_[key * 3] += r;
                sum_[key * 3 + 1] += g;
                sum_[key * 3 + 2] += b;
            }
        }
        bins_.clear();
        for (uint32_t k = 0; k < 32768; ++k)
            if (count_[k]) bins_.push_back({static_cast<uint16_t>(k), count_[k]});
    }

    Box makeBox(int begin, int end) const {
        Box b{begin, end, 0, 0, 0};
        int lo[3] = {31, 31, 31}, hi[3] = {0, 0, 0};
        for (int i = begin; i < end; ++i) {
            b.count += bins_[i].count;
            for (int a = 0; a < 3; ++a) {
                lo[a] = std::min(lo[a], channel(bins_[i].key, a));
                hi[a] = std::max(hi[a], channel(bins_[i].key, a));
            }
        }
        for (int a = 0; a < 3; ++a)
            if (hi[a] - lo[a] > b.extent) {
                b.extent = hi[a] - lo[a];
                b.axis = a;
            }
        return b;
    }

    void medianCut() {
        boxes_.clear();
        boxes_.push_back(makeBox(0, static_cast<int>(bins_.size())));
        while (boxes_.size() < 256) {
            int best = -1;
            double bestScore = 0;
            for (std::size_t i = 0; i < boxes_.size(); ++i) {
                const Box& b = boxes_[i];
                if (b.end - b.begin < 2 || b.extent == 0) continue;
                const double score = static_cast<double>(b.count) * b.extent;
                if (score > bestScore) {
                    bestScore = score;
                    best = static_cast<int>(i);
                }
            }
            if (best < 0) break;
            const Box b = boxes_[best];
            const int axis = b.axis;
            std::sort(bins_.begin() + b.begin, bins_.begin() + b.end,
                      [axis](const Bin& p, const Bin& q) { return channel(p.key, axis) < channel(q.key, axis); });
            // Weighted median, keeping both halves non-empty and not splitting equal channel values.
            uint64_t acc = 0;
            int split = b.begin + 1;
            for (int i = b.begin; i < b.end - 1; ++i) {
                acc += bins_[i].count;
                split = i + 1;
                if (2 * acc >= b.count) break;
            }
            while (split < b.end && split > b.begin + 1 && channel(bins_[split].key, axis) == channel(bins_[split - 1].key, axis)) ++split;
            if (split >= b.end) {  // all the upper part shares one value: split below it instead
                split = b.end - 1;
                while (split > b.begin + 1 && channel(bins_[split].key, axis) == channel(bins_[split - 1].key, axis)) --split;
            }
            boxes_[best] = makeBox(b.begin, split);
            boxes_.push_back(makeBox(split, b.end));
        }
        // Palette = each box's mean colour (from the exact 8-bit sums); bins of the image map to their box.
        pal_.assign(boxes_.size(), {0, 0, 0});
        table_.assign(32768, -1);
        for (std::size_t bi = 0; bi < boxes_.size(); ++bi) {
            uint64_t s[3] = {0, 0, 0}, n = 0;
            for (int i = boxes_[bi].begin; i < boxes_[bi].end; ++i) {
                const uint16_t k = bins_[i].key;
                n += count_[k];
                for (int a = 0; a < 3; ++a) s[a] += sum_[k * 3 + a];
                table_[k] = static_cast<int16_t>(bi);
            }
            for (int a = 0; a < 3; ++a) pal_[bi][a] = static_cast<uint32_t>((s[a] + n / 2) / std::max<uint64_t>(n, 1));
        }
    }

    // Palette index for a colour: the box of its bin when the image has that bin, else the nearest
    // palette colour to the bin's centre (computed once per bin).
    int lookup(int r, int g, int b) {
        const int key = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
        int16_t& t = table_[key];
        if (t >= 0) return t;
        const int cr = ((r >> 3) << 3) + 4, cg = ((g >> 3) << 3) + 4, cb = ((b >> 3) << 3) + 4;
        int best = 0, bestD = INT32_MAX;
        for (std::size_t i = 0; i < pal_.size(); ++i) {
            const int dr = cr - static_cast<int>(pal_[i][0]), dg = cg - static_cast<int>(pal_[i][1]), db = cb - static_cast<int>(pal_[i][2]);
            const int d = 2 * dr * dr + 4 * dg * dg + 3 * db * db;
            if (d < bestD) {
                bestD = d;
                best = static_cast<int>(i);
            }
        }
        t = static_cast<int16_t>(best);
        return best;
    }

    std::vector<uint32_t> count_;
    std::vector<uint64_t> sum_;
    std::vector<Bin> bins_;
    std::vector<Box> boxes_;
    std::vector<std::array<uint32_t, 3>> pal_;
    std::vector<int16_t> table_;
};

bool isSequenceFrameName(const std::string& name) {
    static const std::regex re("frame_[0-9]+\\.png");
    return std::regex_match(name, re);
}

}  // namespace

struct AnimationWriter::Impl {
    std::string path;
    int width = 0, height = 0;
    double fps = 0;
    AnimationFormat format = AnimationFormat::Mp4;
    int frames = 0;
    bool open = true;

    // PNG sequence
    std::unique_ptr<StagedFolder> staged;

    // Video
    std::string tmpPath;
    AVFormatContext* fmt = nullptr;
    AVCodecContext* enc = nullptr;
    AVStream* stream = nullptr;
    SwsContext* sws = nullptr;
    AVFrame* frame = nullptr;
    AVPacket* pkt = nullptr;
    GifQuantizer quantizer;

    std::string where() const { return "'" + path + "'"; }

    [[noreturn]] void fail(const std::string& message) {
        abort();
        throw Error(message);
    }

    void freeCodec() {
        if (sws) sws_freeContext(sws);
        sws = nullptr;
        av_frame_free(&frame);
        av_packet_free(&pkt);
        avcodec_free_context(&enc);
        if (fmt) {
            if (fmt->pb) avio_closep(&fmt->pb);
            avformat_free_context(fmt);
        }
        fmt = nullptr;
        stream = nullptr;
    }

    // Drops everything: codec state, the temporary file or folder.
    void abort() {
        freeCodec();
        if (!tmpPath.empty()) ::unlink(tmpPath.c_str());
        tmpPath.clear();
        if (staged) staged->discard();
        staged.reset();
        open = false;
    }

    void openSequence() {
        std::error_code ec;
        bool replace = false;
        if (fs::is_directory(path, ec)) {
            for (const auto& e : fs::directory_iterator(path, ec)) {
                if (!e.is_regular_file(ec) || !isSequenceFrameName(e.path().filename().string()))
                    throw Error("cannot write a PNG sequence to '" + path + "': the folder holds other files than frame_<n>.png ('" +
                                e.path().filename().string() + "'); choose an empty or new folder");
                replace = true;
            }
            if (ec) throw Error("cannot read '" + path + "': " + ec.message());
        }
        StagedFolderOptions o;
        o.replaceNonEmpty = replace;
        staged = std::make_unique<StagedFolder>(path, o);
    }

    void openVideo() {
        installAvLog();
        tLastAvError.clear();
        const fs::path target = fs::absolute(path).lexically_normal();
        const fs::path parent = target.parent_path();
        std::error_code ec;
        if (!fs::is_directory(parent, ec)) throw Error("cannot write '" + path + "': folder '" + parent.string() + "' does not exist");
        if (fs::is_directory(target, ec)) throw Error("cannot write '" + path + "': it is a folder");
        std::string name = target.filename().string();
        name.insert(0, 1, '.');
        name += ".tmp-XXXXXX";
        std::string tmpl = (parent / name).string();
        const int fd = ::mkstemp(tmpl.data());
        if (fd < 0) throw Error("cannot write '" + path + "': " + std::strerror(errno));
        ::close(fd);
        tmpPath = tmpl;
        const mode_t mask = ::umask(0);
        ::umask(mask);
        ::chmod(tmpl.c_str(), 0666 & ~mask);

        const bool mp4 = format == AnimationFormat::Mp4;
        int rc = avformat_alloc_output_context2(&fmt, nullptr, mp4 ? "mp4" : "gif", tmpPath.c_str());
        if (rc < 0 || !fmt) fail("cannot write '" + path + "': no " + (mp4 ? "MP4" : "GIF") + " muxer: " + avErrorText(rc));
        const AVCodec* codec = mp4 ? avcodec_find_encoder_by_name("libx264") : avcodec_find_encoder(AV_CODEC_ID_GIF);
        if (!codec) fail("cannot write '" + path + "': this FFmpeg has no " + (mp4 ? "libx264 (H.264)" : "GIF") + " encoder");
        stream = avformat_new_stream(fmt, nullptr);
        enc = avcodec_alloc_context3(codec);
        frame = av_frame_alloc();
        pkt = av_packet_alloc();
        if (!stream || !enc || !frame || !pkt) fail("cannot write '" + path + "': out of memory");

        const AVRational rate = av_d2q(fps, 1000000);
        enc->width = width;
        enc->height = height;
        enc->time_base = av_inv_q(rate);
        enc->framerate = rate;
        enc->sample_aspect_ratio = AVRational{1, 1};
        AVDictionary* opts = nullptr;
        if (mp4) {
            enc->pix_fmt = AV_PIX_FMT_YUV420P;
            enc->color_range = AVCOL_RANGE_MPEG;
            enc->colorspace = AVCOL_SPC_BT709;
            enc->color_primaries = AVCOL_PRI_BT709;
            enc->color_trc = AVCOL_TRC_BT709;
            enc->thread_count = 0;
            av_dict_set(&opts, "crf", "20", 0);
            av_dict_set(&opts, "preset", "faster", 0);
            // x264 keeps rc-lookahead (20 at this preset) + threads frames in flight: ~1.5 bytes a
            // pixel each. Keep them under ~300 MB for large frames (4K: 8 frames).
            const double frameMb = 1.5 * width * height / 1e6;
            if (frameMb * 24 > 300) {  // above ~8 Mpx: 2 threads, sliced (no frame threads), short lookahead
                const int lookahead = std::clamp(static_cast<int>(100 / frameMb), 1, 20);
                av_dict_set(&opts, "x264-params", ("rc-lookahead=" + std::to_string(lookahead) + ":sliced-threads=1").c_str(), 0);
                enc->thread_count = 2;
            }
        } else {
            enc->pix_fmt = AV_PIX_FMT_PAL8;
            // Frames carry their own palettes: no cropping against the previous frame's indices.
            av_dict_set(&opts, "gifflags", "0", 0);
        }
        if (fmt->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        rc = avcodec_open2(enc, codec, &opts);
        av_dict_free(&opts);
        if (rc < 0) fail("cannot write '" + path + "': the " + codec->name + " encoder refused " + std::to_string(width) + "x" +
                         std::to_string(height) + ": " + avErrorText(rc));
        rc = avcodec_parameters_from_context(stream->codecpar, enc);
        if (rc < 0) fail("cannot write '" + path + "': " + avErrorText(rc));
        stream->time_base = enc->time_base;
        stream->avg_frame_rate = rate;
        stream->r_frame_rate = rate;

        frame->format = enc->pix_fmt;
        frame->width = width;
        frame->height = height;
        rc = av_frame_get_buffer(frame, 0);
        if (rc < 0) fail("cannot write '" + path + "': " + avErrorText(rc));
        if (mp4) {
            sws = sws_getContext(width, height, AV_PIX_FMT_RGB32, width, height, AV_PIX_FMT_YUV420P, SWS_BICUBIC | SWS_ACCURATE_RND,
                                 nullptr, nullptr, nullptr);
            if (!sws) fail("cannot write '" + path + "': no RGB to YUV converter");
            sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), 1, sws_getCoefficients(SWS_CS_ITU709), 0, 0, 1 << 16,
                                     1 << 16);
        }

        rc = avio_open(&fmt->pb, tmpPath.c_str(), AVIO_FLAG_WRITE);
        if (rc < 0) fail("cannot write '" + path + "': " + avErrorText(rc));
        AVDictionary* mux = nullptr;
        if (mp4) av_dict_set(&mux, "movflags", "+faststart", 0);
        rc = avformat_write_header(fmt, &mux);
        av_dict_free(&mux);
        if (rc < 0) fail("cannot write '" + path + "': " + avErrorText(rc));
    }

    // Sends a frame (or nullptr to flush) and writes every packet the encoder returns.
    void encode(AVFrame* f) {
        int rc = avcodec_send_frame(enc, f);
        if (rc < 0) fail("cannot write '" + path + "': encoding failed: " + avErrorText(rc));
        for (;;) {
            rc = avcodec_receive_packet(enc, pkt);
            if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
            if (rc < 0) fail("cannot write '" + path + "': encoding failed: " + avErrorText(rc));
            if (pkt->duration <= 0) pkt->duration = 1;
            av_packet_rescale_ts(pkt, enc->time_base, stream->time_base);
            pkt->stream_index = stream->index;
            rc = av_interleaved_write_frame(fmt, pkt);  // takes the packet's data; pkt is blank after
            if (rc < 0) fail("cannot write '" + path + "': " + avErrorText(rc));
        }
    }
};

AnimationFormat AnimationWriter::formatFor(const std::string& path) {
    if (path.empty()) throw Error("no animation path given: use a name ending in .mp4 or .gif, or a folder ending in '/' for a PNG sequence");
    std::error_code ec;
    if (path.back() == '/' || fs::is_directory(path, ec)) return AnimationFormat::PngSequence;
    const std::string ext = lowerExtension(path);
    if (ext == ".mp4") return AnimationFormat::Mp4;
    if (ext == ".gif") return AnimationFormat::Gif;
    throw Error("cannot write an animation to '" + path +
                "': use a name ending in .mp4 (H.264 video) or .gif, or a folder ending in '/' for a PNG sequence");
}

AnimationWriter::AnimationWriter(const std::string& path, int width, int height, double fps) : d_(std::make_unique<Impl>()) {
    d_->path = path;
    d_->format = formatFor(path);
    if (width < 1 || height < 1 || width > kMaxSide || height > kMaxSide)
        throw Error("cannot write '" + path + "': size " + std::to_string(width) + "x" + std::to_string(height) + " is outside 1.." +
                    std::to_string(kMaxSide) + " pixels per side");
    if (static_cast<long long>(width) * height > kMaxPixels)
        throw Error("cannot write '" + path + "': size " + std::to_string(width) + "x" + std::to_string(height) +
                    " is over the cap of 12 million pixels per frame (e.g. 4000 x 3000; the frame buffers and the encoder would need "
                    "more than 1.5 GB); render a smaller size");
    if (!std::isfinite(fps) || fps <= 0 || fps > kMaxFps) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", fps);
        throw Error("cannot write '" + path + "': frame rate " + buf + " is not in (0, 1000] frames per second");
    }
    if (d_->format == AnimationFormat::Mp4 && (width % 2 || height % 2))
        throw Error("cannot write '" + path + "': MP4 (H.264, yuv420p) needs an even width and height, got " + std::to_string(width) + "x" +
                    std::to_string(height));
    if (d_->format == AnimationFormat::Gif && fps > kMaxGifFps)
        throw Error("cannot write '" + path + "': GIF plays at most 50 frames per second (delays are hundredths of a second)");
    d_->width = width;
    d_->height = height;
    d_->fps = fps;
    try {
        if (d_->format == AnimationFormat::PngSequence) d_->openSequence();
        else d_->openVideo();
    } catch (...) {
        d_->abort();
        throw;
    }
}

AnimationWriter::~AnimationWriter() {
    if (d_ && d_->open) cancel();
}

void AnimationWriter::addFrame(const QImage& image) {
    if (!d_->open) throw Error("cannot add a frame to '" + d_->path + "': the writer is already finished or cancelled");
    if (image.isNull()) throw Error("cannot add a frame to '" + d_->path + "': the image is empty");
    const QImage img = toRgb32(image, d_->width, d_->height);
    try {
        if (d_->format == AnimationFormat::PngSequence) {
            char name[40];
            std::snprintf(name, sizeof name, "frame_%04d.png", d_->frames);
            const std::string file = (d_->staged->path() / name).string();
            if (!img.save(QString::fromStdString(file), "PNG"))
                d_->fail("cannot write '" + d_->path + "': saving " + name + " failed (disk full or not writable?)");
        } else {
            tLastAvError.clear();
            int rc = av_frame_make_writable(d_->frame);
            if (rc < 0) d_->fail("cannot write '" + d_->path + "': " + avErrorText(rc));
            if (d_->format == AnimationFormat::Mp4) {
                const uint8_t* src[1] = {img.constBits()};
                const int stride[1] = {static_cast<int>(img.bytesPerLine())};
                sws_scale(d_->sws, src, stride, 0, d_->height, d_->frame->data, d_->frame->linesize);
            } else {
                d_->quantizer.quantize(img, d_->frame->data[0], d_->frame->linesize[0], reinterpret_cast<uint32_t*>(d_->frame->data[1]));
            }
            d_->frame->pts = d_->frames;
            d_->encode(d_->frame);
        }
    } catch (...) {
        d_->abort();
        throw;
    }
    ++d_->frames;
}

void AnimationWriter::finish() {
    if (!d_->open) throw Error("cannot finish '" + d_->path + "': the writer is already finished or cancelled");
    try {
        if (d_->frames == 0) d_->fail("cannot write '" + d_->path + "': no frames were added");
        if (d_->format == AnimationFormat::PngSequence) {
            d_->staged->commit();
            d_->staged.reset();
        } else {
            tLastAvError.clear();
            d_->encode(nullptr);
            int rc = av_write_trailer(d_->fmt);
            if (rc < 0) d_->fail("cannot write '" + d_->path + "': " + avErrorText(rc));
            rc = avio_closep(&d_->fmt->pb);
            if (rc < 0) d_->fail("cannot write '" + d_->path + "': " + avErrorText(rc));
            d_->freeCodec();
            if (std::rename(d_->tmpPath.c_str(), d_->path.c_str()) != 0)
                d_->fail("cannot write '" + d_->path + "': " + std::strerror(errno));
            d_->tmpPath.clear();
        }
    } catch (...) {
        d_->abort();
        throw;
    }
    d_->open = false;
}

void AnimationWriter::cancel() {
    if (d_->open) d_->abort();
}

int AnimationWriter::framesWritten() const { return d_->frames; }
AnimationFormat AnimationWriter::format() const { return d_->format; }
int AnimationWriter::width() const { return d_->width; }
int AnimationWriter::height() const { return d_->height; }
bool AnimationWriter::isOpen() const { return d_->open; }

}  // namespace tl::ui
