import { describe, expect, it } from "vitest";
import { ossAclPolicy } from "../../../src/admin/acl.js";
import { validateModel } from "../../../src/admin/model-validation.js";
import { parseCellId } from "../../../src/common/naming.js";
import { Model } from "../../../src/gen/sax/admin.js";

const cell = parseCellId("/sax/test");
const model = (fields: Parameters<typeof Model.fromPartial>[0]) =>
  Model.fromPartial({
    modelId: "/sax/test/m",
    modelPath: "saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest",
    checkpointPath: "None",
    requestedNumReplicas: 1,
    ...fields,
  });
const check = (fields: Parameters<typeof Model.fromPartial>[0]) => () =>
  validateModel(model(fields), cell, ossAclPolicy);

describe("validateModel", () => {
  it("accepts a well-formed model", () => {
    expect(check({})().name).toBe("m");
  });

  it.each(["1abc", "a b", ""])("rejects the model path %j", (modelPath) => {
    expect(check({ modelPath })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it.each(["None", "gs://b/ckpt/checkpoint_00000000", "/x/y=1%2:3|4+5"])(
    "accepts the checkpoint %j",
    (checkpointPath) => {
      expect(check({ checkpointPath })).not.toThrow();
    },
  );

  it.each(["", "a b", "a@b", "~/x", "a,b"])("rejects the checkpoint %j", (checkpointPath) => {
    expect(check({ checkpointPath })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("rejects negative replicas and accepts zero", () => {
    expect(check({ requestedNumReplicas: -1 })).toThrow(/requested_num_replicas must be >= 0/);
    expect(check({ requestedNumReplicas: 0 })).not.toThrow();
  });

  it("rejects a model of another cell", () => {
    expect(check({ modelId: "/sax/other/m" })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("rejects ACLs for unknown methods and malformed ACL names", () => {
    expect(check({ acls: { items: { "lm.bogus": "" } } })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(check({ acls: { items: { "lm.generate": "bob" } } })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });

  it("answers UNIMPLEMENTED for well-formed ACL names, as Saxml's open-source build", () => {
    expect(check({ acls: { items: { "lm.generate": "acl/x" } } })).toThrow(
      expect.objectContaining({ code: "UNIMPLEMENTED" }),
    );
    expect(check({ adminAcl: "acl/admins" })).toThrow(expect.objectContaining({ code: "UNIMPLEMENTED" }));
  });

  it("accepts empty ACLs", () => {
    expect(check({ acls: { items: { "lm.generate": "" } } })).not.toThrow();
  });
});
