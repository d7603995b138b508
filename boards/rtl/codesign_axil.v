// codesign_axil.v -- AXI4-Lite slave that puts the model's weight load port and a soft reset on the PS's
// register bus (shipped as is in every deploy package; Verilog-2001 for Vivado's IP packager).
//
// Why: weights, a fault to inject on the board or a lock key are changed words in the model's memories;
// the model's load port (wl_we / wl_sel / wl_addr / wl_data, codesign.rtl.generate) writes one word a
// cycle. Through this slave the PYNQ driver writes them at run time without a new bitstream, and resets
// the model after an aborted DMA transfer.
//
// Registers (32-bit, word writes; byte strobes are ignored):
//   0x00 ID      read only   first 32 bits of the design spec's sha256 (the driver checks it)
//   0x04 CTRL    write bit0 = 1: one load-port write of DATA at SEL/ADDR (wl_we for one cycle)
//                bit1: soft reset of the model and the stream wrapper while 1 (read back)
//   0x08 SEL     load-port select (2*layer: weights, 2*layer+1: bias/shift words)
//   0x0C ADDR    load-port word address
//   0x10 INFO    read only   {NW[7:0], WL_AW[7:0], WL_DW[15:0]}
//   0x14 WRITES  read only   load-port writes since reset
//   0x20 + 4k    DATA word k (bits 32k+31 .. 32k of the load-port data), k < NW
module codesign_axil #(
    parameter AW = 12,
    parameter WL_AW = 8,
    parameter WL_DW = 32,
    parameter [31:0] SPEC_ID = 32'd0
) (
    input  wire aclk,
    input  wire aresetn,
    input  wire [AW-1:0] s_axi_awaddr,
    input  wire s_axi_awvalid,
    output wire s_axi_awready,
    input  wire [31:0] s_axi_wdata,
    input  wire [3:0] s_axi_wstrb,
    input  wire s_axi_wvalid,
    output wire s_axi_wready,
    output wire [1:0] s_axi_bresp,
    output reg  s_axi_bvalid,
    input  wire s_axi_bready,
    input  wire [AW-1:0] s_axi_araddr,
    input  wire s_axi_arvalid,
    output wire s_axi_arready,
    output reg  [31:0] s_axi_rdata,
    output wire [1:0] s_axi_rresp,
    output reg  s_axi_rvalid,
    input  wire s_axi_rready,
    output reg  wl_we,
    output reg  [7:0] wl_sel,
    output reg  [WL_AW-1:0] wl_addr,
    output wire [WL_DW-1:0] wl_data,
    output reg  soft_reset
);
    localparam NW = (WL_DW + 31) / 32;
    localparam [31:0] INFO = (NW << 24) | (WL_AW << 16) | WL_DW;

    reg [NW*32-1:0] data;
    reg [31:0] writes;
    integer kw, kr;  // loop indices, one per always block

    assign wl_data = data[WL_DW-1:0];

    // write channel: address and data taken together, one response each
    wire w_fire = s_axi_awvalid && s_axi_wvalid && !s_axi_bvalid;
    wire [31:0] wi = {{(34-AW){1'b0}}, s_axi_awaddr[AW-1:2]};  // register index
    assign s_axi_awready = w_fire;
    assign s_axi_wready = w_fire;
    assign s_axi_bresp = 2'b00;

    always @(posedge aclk) begin
        if (!aresetn) begin
            s_axi_bvalid <= 1'b0;
            wl_we <= 1'b0;
            wl_sel <= 8'd0;
            wl_addr <= {WL_AW{1'b0}};
            data <= {(NW*32){1'b0}};
            writes <= 32'd0;
            soft_reset <= 1'b0;
        end else begin
            wl_we <= 1'b0;
            if (s_axi_bvalid && s_axi_bready)
                s_axi_bvalid <= 1'b0;
            if (w_fire) begin
                s_axi_bvalid <= 1'b1;
                if (wi == 1) begin
                    soft_reset <= s_axi_wdata[1];
                    if (s_axi_wdata[0]) begin
                        wl_we <= 1'b1;
                        writes <= writes + 32'd1;
                    end
                end
                if (wi == 2)
                    wl_sel <= s_axi_wdata[7:0];
                if (wi == 3)
                    wl_addr <= s_axi_wdata[WL_AW-1:0];
                for (kw = 0; kw < NW; kw = kw + 1)
                    if (wi == 8 + kw)
                        data[kw*32 +: 32] <= s_axi_wdata;
            end
        end
    end

    // read channel
    wire [31:0] ri = {{(34-AW){1'b0}}, s_axi_araddr[AW-1:2]};
    wire [31:0] addr32 = {{(32-WL_AW){1'b0}}, wl_addr};  // WL_AW < 32 (codesign deploy checks)
    assign s_axi_arready = !s_axi_rvalid;
    assign s_axi_rresp = 2'b00;

    always @(posedge aclk) begin
        if (!aresetn) begin
            s_axi_rvalid <= 1'b0;
            s_axi_rdata <= 32'd0;
        end else if (s_axi_rvalid) begin
            if (s_axi_rready)
                s_axi_rvalid <= 1'b0;
        end else if (s_axi_arvalid) begin
            s_axi_rvalid <= 1'b1;
            s_axi_rdata <= 32'd0;
            if (ri == 0) s_axi_rdata <= SPEC_ID;
            if (ri == 1) s_axi_rdata <= {30'd0, soft_reset, 1'b0};
            if (ri == 2) s_axi_rdata <= {24'd0, wl_sel};
            if (ri == 3) s_axi_rdata <= addr32;
            if (ri == 4) s_axi_rdata <= INFO;
            if (ri == 5) s_axi_rdata <= writes;
            for (kr = 0; kr < NW; kr = kr + 1)
                if (ri == 8 + kr)
                    s_axi_rdata <= data[kr*32 +: 32];
        end
    end

    // byte strobes are not used (every register is written whole)
    wire unused_wstrb = ^s_axi_wstrb;
endmodule
