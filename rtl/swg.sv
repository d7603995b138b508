// swg.sv -- sliding-window (convolution input) generator: NHWC pixel stream in, one K*K*C window
// per output pixel out, in (kh, kw, c) order (emulator.conv2d_kernel's im2col = Keras), SIMD elements
// per beat, for the mvau of the same conv layer.
//
// Why a window register fed by line buffers: with the whole KH x KW x C window held in registers the
// SIMD width of the following mvau is free (any SIMD, the last beat zero-padded to NP), and each
// input pixel enters once: its column of KH pixels (KH-1 from the line buffer, the new pixel) shifts
// into the window's right edge and the line buffer word of that column moves up one row. Only KH-1
// image rows are buffered (wmem, word x = the KH-1 pixels above column x, oldest in the low bits).
//
// Positions walk the zero-padded image (HP x WP, PT/PL pad rows/columns before the data): data
// positions (ROW_DATA[y] && COL_DATA[x]) take one input beat, pad positions shift in a zero pixel
// without one. A position whose window is an output pixel (ROW_WIN[y] && COL_WIN[x]: bottom-right
// corner of a window at the layer's strides, within OH x OW) then emits SF = NP/SIMD beats. So an
// image takes about HP*WP + OH*OW*(SF-1) cycles here; the next position is fetched (line-buffer read,
// registered) while the previous window is still being emitted. Windows are emitted only after all
// their rows and columns came from the current image, so images follow each other with no gap.
// Input: one pixel (C elements, element 0 in the low bits) per beat. Output: AXI-Stream, no tlast
// (the mvau counts beats).
module swg #(
    parameter int C = 1,            // channels of a pixel
    parameter int XW = 8,
    parameter int KH = 3,
    parameter int KW = 3,
    parameter int HP = 28,          // padded image height / width (positions walked per image)
    parameter int WP = 28,
    parameter int SIMD = 9,
    parameter int NP = 9,           // window length padded to a multiple of SIMD
    parameter logic [HP-1:0] ROW_DATA = '1,   // rows / columns holding image data (others: zero padding)
    parameter logic [WP-1:0] COL_DATA = '1,
    parameter logic [HP-1:0] ROW_WIN = '1,    // rows / columns where a window ends (an output pixel)
    parameter logic [WP-1:0] COL_WIN = '1,
    parameter int N = KH * KW * C,
    parameter int PW = C * XW,      // pixel width
    parameter int SF = NP / SIMD
) (
    input  logic                clk,
    input  logic                rst,
    input  logic [PW-1:0]       s_tdata,
    input  logic                s_tvalid,
    output logic                s_tready,
    output logic [SIMD*XW-1:0]  m_tdata,
    output logic                m_tvalid,
    input  logic                m_tready
);
    localparam int YW = HP > 1 ? $clog2(HP) : 1;
    localparam int XAW = WP > 1 ? $clog2(WP) : 1;
    localparam int SCW = SF > 1 ? $clog2(SF) : 1;
    localparam int LBW = KH > 1 ? (KH - 1) * PW : 1;

    // ------------------------------------------------------------------ fetch: next position's pixel
    logic [YW-1:0] py;
    logic [XAW-1:0] px;
    logic f_full, f_win;
    logic [XAW-1:0] f_x;
    logic [PW-1:0] f_pix;
    logic emitting;
    logic [SCW-1:0] sf;
    wire last_beat = sf == SCW'(SF - 1);
    wire shift = f_full && (!emitting || (m_tready && last_beat));
    wire can_take = !f_full || shift;
    wire pad = !(ROW_DATA[py] && COL_DATA[px]);
    wire fetch = can_take && (pad || s_tvalid);
    assign s_tready = can_take && !pad;

    always_ff @(posedge clk) begin
        if (rst) begin
            py <= '0;
            px <= '0;
            f_full <= 1'b0;
        end else begin
            if (fetch) begin
                f_full <= 1'b1;
                px <= px == XAW'(WP - 1) ? '0 : px + XAW'(1);
                if (px == XAW'(WP - 1)) py <= py == YW'(HP - 1) ? '0 : py + YW'(1);
            end else if (shift) begin
                f_full <= 1'b0;
            end
        end
        if (fetch) begin
            f_pix <= pad ? '0 : s_tdata;
            f_x <= px;
            f_win <= ROW_WIN[py] && COL_WIN[px];
        end
    end

    // ------------------------------------------------------------------ line buffer: KH-1 rows
    logic [LBW-1:0] lb_r, lb_w;
    logic [KH*PW-1:0] col;          // the new window column, row kh at bits kh*PW (kh = KH-1: the new pixel)
    if (KH > 1) begin : g_lb
        assign col = {f_pix, lb_r};
        assign lb_w = col[KH*PW-1:PW];
        wmem #(.DW(LBW), .DEPTH(WP), .AW(XAW), .INIT_EN(0)) u_lb (
            .clk(clk), .re(fetch), .raddr(px), .rdata(lb_r),
            .we(shift), .waddr(f_x), .wdata(lb_w)
        );
    end else begin : g_nolb
        assign col = f_pix;
        assign lb_r = '0;
        assign lb_w = '0;
    end

    // ------------------------------------------------------------------ window register and emission
    logic [N*XW-1:0] win;
    always_ff @(posedge clk) begin
        if (shift) begin
            for (int kh = 0; kh < KH; kh++) begin
                for (int kw = 0; kw < KW - 1; kw++) win[(kh*KW + kw)*PW +: PW] <= win[(kh*KW + kw + 1)*PW +: PW];
                win[(kh*KW + KW - 1)*PW +: PW] <= col[kh*PW +: PW];
            end
        end
    end
    always_ff @(posedge clk) begin
        if (rst) begin
            emitting <= 1'b0;
            sf <= '0;
        end else begin
            if (emitting && m_tready) begin
                sf <= last_beat ? '0 : sf + SCW'(1);
                if (last_beat) emitting <= 1'b0;
            end
            if (shift && f_win) begin
                emitting <= 1'b1;
                sf <= '0;
            end
        end
    end
    logic [NP*XW-1:0] winp;         // the window zero-padded to NP elements
    always_comb begin
        winp = '0;
        winp[N*XW-1:0] = win;
    end
    assign m_tvalid = emitting;
    assign m_tdata = winp[sf*SIMD*XW +: SIMD*XW];
endmodule
