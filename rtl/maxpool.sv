// maxpool.sv -- streaming max pooling over non-overlapping PH x PW windows (strides = pool size),
// NHWC pixel stream in and out (one pixel of C elements per beat), as emulator.maxpool2d_kernel.
//
// Why a row of partial maxima: pixels arrive row-major, so a window's PH rows are PW-pixel runs
// spread over PH image rows. A register keeps the window's max so far (acc[ox] and the current run's
// pixels); at a run's end it is written to acc[ox] (one pixel per output column: one output row of
// state, no image buffering);
// at the run that ends a window's last row the window max leaves as an output beat. Rows and
// columns past OH*PH / OW*PW (floor division, e.g. row 10 of 11) are taken and dropped. Lanes
// compare as SIGNED says (the input type's sign). One input pixel a cycle; an image takes H*W cycles.
// The row/column roles come as bit masks from the generator (codesign/rtl/conv.py).
// PP > 1: PP pixels a beat (pixel k in bits k*C*XW), PP = the window width, so a beat is one window's
// run of a row: its pixels are reduced to their max first and the rest runs on beats (W, the column
// masks and x count beats: W = image width / PP); an image takes H*W cycles, PP times fewer. Fed by a
// conv whose mvau computes PP windows a beat (rtl/mvau.sv MW).
module maxpool #(
    parameter int C = 16,
    parameter int XW = 8,
    parameter int SIGNED = 0,
    parameter int H = 26,
    parameter int W = 26,
    parameter int OW = 13,
    parameter logic [H-1:0] ROW_KEEP = '1,   // rows inside some window
    parameter logic [H-1:0] ROW_FIRST = '1,  // first row of a window (starts acc)
    parameter logic [H-1:0] ROW_LAST = '1,   // last row of a window (emits)
    parameter logic [H-1:0] ROW_END = '1,    // the last row of the image's last output row (tlast)
    parameter logic [W-1:0] COL_KEEP = '1,
    parameter logic [W-1:0] COL_FIRST = '1,
    parameter logic [W-1:0] COL_LAST = '1,
    parameter int PP = 1,                    // pixels a beat (= the window width when > 1)
    parameter int PW = C * XW
) (
    input  logic          clk,
    input  logic          rst,
    input  logic [PP*PW-1:0] s_tdata,
    input  logic          s_tvalid,
    output logic          s_tready,
    output logic [PW-1:0] m_tdata,
    output logic          m_tvalid,
    input  logic          m_tready,
    output logic          m_tlast
);
    localparam int YW = H > 1 ? $clog2(H) : 1;
    localparam int XAW = W > 1 ? $clog2(W) : 1;
    localparam int OXW = OW > 1 ? $clog2(OW) : 1;

    function automatic logic [PW-1:0] vmax(input logic [PW-1:0] a, input logic [PW-1:0] b);
        for (int c = 0; c < C; c++) begin
            if (SIGNED != 0) vmax[c*XW +: XW] = $signed(a[c*XW +: XW]) > $signed(b[c*XW +: XW]) ? a[c*XW +: XW] : b[c*XW +: XW];
            else vmax[c*XW +: XW] = a[c*XW +: XW] > b[c*XW +: XW] ? a[c*XW +: XW] : b[c*XW +: XW];
        end
    endfunction

    logic [YW-1:0] y;
    logic [XAW-1:0] x;
    logic [OXW-1:0] ox;
    logic [PW-1:0] wrun;            // max of the window so far: acc[ox] (rows before) and this run's pixels
    logic [PW-1:0] acc [0:(1<<OXW)-1];
    // Input register stage (full rate): the pixel enters a register before the two max compares. Without
    // it the upstream engine's output FIFO read (LUT RAM, mac_pipe) and both compares fell in one cycle,
    // the MNIST CNN's critical path on the ECP5 (80 MHz) once its window FIFOs were registered.
    // s_tready is a flip-flop (a skid register takes the beat accepted while the input register cannot
    // move): with s_tready = !i_v || core_ready the downstream FIFO's ready ran through here into the
    // upstream engine's output FIFO pop and credit counter, across the die (the MNIST CNN at 83.64 MHz).
    logic [PP*PW-1:0] i_d, k_d;
    logic i_v, k_v;
    wire core_ready = !m_tvalid || m_tready;
    wire take = i_v && core_ready;
    wire move = !i_v || core_ready;     // the input register takes a beat this cycle
    assign s_tready = !k_v;
    always_ff @(posedge clk) begin
        if (rst) begin
            i_v <= 1'b0;
            k_v <= 1'b0;
        end else if (move) begin
            i_v <= k_v || s_tvalid;
            k_v <= 1'b0;
        end else if (s_tvalid && !k_v) begin
            k_v <= 1'b1;
        end
        if (move) i_d <= k_v ? k_d : s_tdata;
        if (!move && !k_v) k_d <= s_tdata;
    end
    logic [PW-1:0] px;              // the beat's pixels reduced to their max (PP > 1)
    always_comb begin
        px = i_d[PW-1:0];
        for (int k = 1; k < PP; k++) px = vmax(px, i_d[k*PW +: PW]);
    end
    wire keep = ROW_KEEP[y] && COL_KEEP[x];
    // window max so far, one compare a pixel: a run's first pixel against acc[ox] (its rows before, none
    // in a window's first row), every other pixel against wrun, the previous pixel's v (acc[ox] stays
    // put during a run: it is written at the run's end, ox moves after it). The running max of the run
    // (hmax) and then acc[ox] against it were two compares and two muxes in one cycle: the MNIST CNN's
    // routed critical path on the ECP5 (87.7 MHz, hmax -> compare -> compare -> acc, 11.4 ns).
    wire [PW-1:0] v = !COL_FIRST[x] ? vmax(wrun, px) : (ROW_FIRST[y] ? px : vmax(acc[ox], px));
    wire row_end = x == XAW'(W - 1);

    always_ff @(posedge clk) begin
        if (rst) begin
            y <= '0;
            x <= '0;
            ox <= '0;
            m_tvalid <= 1'b0;
        end else begin
            if (m_tvalid && m_tready) m_tvalid <= 1'b0;
            if (take) begin
                x <= row_end ? '0 : x + XAW'(1);
                if (row_end) y <= y == YW'(H - 1) ? '0 : y + YW'(1);
                if (row_end) ox <= '0;
                else if (keep && COL_LAST[x]) ox <= ox + OXW'(1);
                if (keep && COL_LAST[x] && ROW_LAST[y]) m_tvalid <= 1'b1;
            end
        end
        if (take && keep) begin
            wrun <= v;
            if (COL_LAST[x]) acc[ox] <= v;
            if (COL_LAST[x] && ROW_LAST[y]) begin
                m_tdata <= v;
                m_tlast <= ROW_END[y] && ox == OXW'(OW - 1);
            end
        end
    end
endmodule
