// axis_fifo.sv -- AXI-Stream FIFO, DEPTH (a power of two) beats, full rate, first-word fall-through.
//
// Why: an engine chain has almost no buffering, so a conv engine that must walk KH-1 rows of the next
// image before its first window (rtl/swg.sv) would stall the engine upstream while it finishes the
// current image, and that engine would in turn idle while the conv waits for those rows. A FIFO of
// about (KH-1)*W + KW pixels in front of the window generator lets the upstream engine run ahead by
// the rows the next image's first window needs. Memory with an asynchronous read (LUT RAM).
module axis_fifo #(
    parameter int DW = 8,
    parameter int DEPTH = 16,
    parameter int AW = DEPTH > 1 ? $clog2(DEPTH) : 1
) (
    input  logic          clk,
    input  logic          rst,
    input  logic [DW-1:0] s_tdata,
    input  logic          s_tvalid,
    output logic          s_tready,
    output logic [DW-1:0] m_tdata,
    output logic          m_tvalid,
    input  logic          m_tready
);
    logic [DW-1:0] mem [0:(1<<AW)-1];
    logic [AW:0] wptr, rptr;
    wire [AW:0] used = wptr - rptr;
    assign s_tready = used != (AW + 1)'(1 << AW);
    assign m_tvalid = used != '0;
    assign m_tdata = mem[rptr[AW-1:0]];
    always_ff @(posedge clk) begin
        if (s_tvalid && s_tready) mem[wptr[AW-1:0]] <= s_tdata;
        if (rst) begin
            wptr <= '0;
            rptr <= '0;
        end else begin
            if (s_tvalid && s_tready) wptr <= wptr + (AW + 1)'(1);
            if (m_tvalid && m_tready) rptr <= rptr + (AW + 1)'(1);
        end
    end
endmodule
