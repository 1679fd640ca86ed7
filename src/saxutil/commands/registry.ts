/**
 * Every saxutil command, in Saxml's registration order (what `saxutil commands` prints; help sorts them).
 */
import type { SaxutilCommand } from "../command.js";
import { getAclCommand, setAclCommand } from "./acl.js";
import { builtinCommands } from "./builtin.js";
import { createCommand, deleteCommand } from "./cell.js";
import { lmEmbedCommand, lmGenerateCommand, lmGradientCommand, lmScoreCommand } from "./lm.js";
import { lsCommand } from "./ls.js";
import {
  publishCommand,
  unpublishCommand,
  updateCheckpointCommand,
  updateCommand,
  watchCommand,
} from "./models.js";
import { amRecognizeCommand, exportCommand, saveCommand } from "./replica-ops.js";
import { vmClassifyCommand, vmDetectCommand, vmEmbedCommand, vmGenerateCommand } from "./vm.js";

/** All commands, builtins first. */
export function allCommands(): readonly SaxutilCommand[] {
  const commands: SaxutilCommand[] = [];
  commands.push(
    ...builtinCommands(() => commands),
    createCommand,
    deleteCommand,
    lsCommand,
    publishCommand,
    updateCommand,
    getAclCommand,
    setAclCommand,
    unpublishCommand,
    watchCommand,
    updateCheckpointCommand,
    exportCommand,
    saveCommand,
    vmClassifyCommand,
    vmDetectCommand,
    vmEmbedCommand,
    lmEmbedCommand,
    lmGenerateCommand,
    lmGradientCommand,
    amRecognizeCommand,
    lmScoreCommand,
    vmGenerateCommand,
  );
  return commands;
}
